"""What a scan shows the public about a lot, item or product, apart from how it is served."""
