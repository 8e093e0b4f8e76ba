"""The store's shared declarative base and column types (:mod:`store.base`)."""
