"""The composition root: the `provenance` command, the member node's wiring and the demo.

The one package that may import every other (`ledger_client` < `oracle_bridge`,
`credentials` < `api` < `provenance`): it builds the objects the lower layers define and
hands each the ports it needs, so no lower layer ever imports a higher one.
"""
