"""The GS1 Digital Link resolver on the server's root: a scanned URI read and answered."""
