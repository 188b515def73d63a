"""Channel adapters: one per destination, each behind the `ChannelAdapter` Protocol (`channels.port`,
re-exported by `pipeline.ports`), looked up by kind in `channels.registry`."""

from channels.base import ChannelError, Post, Receipt

__all__ = ["ChannelError", "Post", "Receipt"]
