"""Headwater gateway: the only public HTTP entry; authenticates, authorises and translates each API dialect."""

SERVICE = "gateway"
SCHEMA = "gateway"
