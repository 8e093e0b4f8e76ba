"""Words of Chinese text (jieba's segmentation), shared by the knowledge base's search and the
routing help's ranking of the catalogue of matters; a bottom layer, next to ``config``: it
imports nothing of ours."""
