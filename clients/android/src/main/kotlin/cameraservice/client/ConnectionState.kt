package cameraservice.client

/** Where the client's connection stands; [CameraClient.state] always holds the latest. */
public sealed interface ConnectionState {
    /** Not connected because the app said so ([CameraClient.setActive] false). */
    public data object Inactive : ConnectionState

    /** Opening the WebSocket, authenticating and restoring subscriptions. */
    public data class Connecting(val attempt: Int) : ConnectionState

    /** Connected, authenticated, subscriptions restored: calls go out now. */
    public data object Ready : ConnectionState

    /**
     * The last attempt failed or the connection dropped ([cause]); the next attempt starts in
     * [delayMillis]. A [RpcException] cause with [RpcException.AUTH_REQUIRED] means the token was refused.
     */
    public data class Reconnecting(val attempt: Int, val delayMillis: Long, val cause: Throwable?) : ConnectionState

    /** [CameraClient.close] was called; terminal. */
    public data object Closed : ConnectionState
}
