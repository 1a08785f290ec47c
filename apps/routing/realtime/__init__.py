"""The Realtime API (`/v1/realtime`, WebSocket): a Channels consumer relaying frames to OpenAI's or Azure's
Realtime API, billing each `response.done` to the calling key."""
