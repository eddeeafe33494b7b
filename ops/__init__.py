"""Operations: managers of the processes crumbgraph runs beside itself (the Neo4j JVM; later a Spark session)."""
