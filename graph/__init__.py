"""Graph layer: the GraphStore interface, its Neo4j and embedded backends, the model and projections."""
