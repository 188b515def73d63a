"""Channel adapters: one per destination, each behind the `pipeline.ports.ChannelAdapter` Protocol,
looked up by kind in `channels.registry`."""

from channels.base import ChannelError, Post, Receipt

__all__ = ["ChannelError", "Post", "Receipt"]
