"""Lineage graph queries (our addition): what feeds an address, what it feeds, the lineage of a pipeline."""
