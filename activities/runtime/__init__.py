"""The runtime plumbing a worker and a client share: settings and the Temporal connection, the payload
codec and its keys, logging, health and metrics, tracing, the binaries, start-up checks, versioning and
what starting or reading any workflow has in common. It imports nothing of ours above domain/."""
