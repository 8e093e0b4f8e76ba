"""The knowledge base: articles operators read answers from during a call, their Chinese
search, and which article helped on which ticket.

Its own package, not ``agents``: it has tables (on the store's base, ``tickets.db.Base``) and
links them to tickets, so it must sit above ``tickets`` in the layers, beside ``ivr`` and
``metrics``; and ``agents`` stays the pure seat state (no tables, no imports from above).

Modules: ``models`` (tables), ``tokens`` (jieba segmentation), ``index`` (the pure in-memory
BM25F index), ``stored_words`` (an article's word counts kept with it), ``live`` (the index
kept in step with the table), ``service`` (the rules on a session), ``schemas`` and ``api``
(HTTP). The article's fields and their rules are ``config.knowledge``'s, shared with the
starter file ``config/knowledge.yaml``.
"""
