"""Headwater gateway: the only public HTTP entry; translates each API dialect into internal service calls."""

SERVICE = "gateway"
