"""Connections: picows WebSockets that reconnect, stamp and hand frames on. No venue logic."""

from hftpy.net.connection import FrameHandler, ReconnectPolicy, WsConnection

__all__ = ["FrameHandler", "ReconnectPolicy", "WsConnection"]
