"""The rule between the roles, written in agents/roles.py."""

from __future__ import annotations

from agents.roles import Role, grants, may_act_on_seat


def test_each_role_grants_the_lower_ones() -> None:
    order = [Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN]
    for i, held in enumerate(order):
        for j, needed in enumerate(order):
            assert grants(held, needed) is (i >= j)


def test_a_department_user_is_granted_department_work_only_and_no_one_else_is() -> None:
    for role in Role:
        assert grants(Role.DEPARTMENT, role) is (role is Role.DEPARTMENT)
        assert grants(role, Role.DEPARTMENT) is (role is Role.DEPARTMENT)
    assert not may_act_on_seat(Role.DEPARTMENT, None, "SIP/8001")


def test_an_operator_acts_on_their_own_seat_only() -> None:
    assert may_act_on_seat(Role.OPERATOR, "SIP/8001", "SIP/8001")
    assert not may_act_on_seat(Role.OPERATOR, "SIP/8001", "SIP/8002")
    assert not may_act_on_seat(Role.OPERATOR, None, "SIP/8001")
    assert may_act_on_seat(Role.SUPERVISOR, None, "SIP/8002")
    assert may_act_on_seat(Role.ADMIN, "SIP/9000", "SIP/8002")
