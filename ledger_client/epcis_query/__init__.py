"""The EPCIS 2.0 query interface over the read model (`GET /events` of the REST binding):
what the indexer extracts from each event for it, the standard's query parameters read into
filters, and those filters run as one SQL query with keyset paging."""
