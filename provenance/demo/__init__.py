"""`provenance demo`: the whole story on the embedded node, then the node kept serving.

`run` starts the node (`run.py`); `story.py` tells the story through the node's API, MQTT
and the members' clients; `events.py` holds its EPCIS documents, `cast.py` its organizations
and lots; `report.py` ends it with the summary, the scan URLs, a QR code and the self-check.
"""

from provenance.demo.run import run

__all__ = ["run"]
