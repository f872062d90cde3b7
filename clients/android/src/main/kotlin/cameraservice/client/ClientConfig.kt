package cameraservice.client

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.serialization.json.Json
import okhttp3.OkHttpClient
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * Everything a [CameraClient] needs. One [okHttpClient] is shared by the app (connection pool, TLS,
 * interceptors); the client derives its WebSocket settings from it with `newBuilder()`.
 *
 * @property url the service's WebSocket endpoint, e.g. `wss://cams.example.org/ws`.
 * @property tokenProvider called before EVERY (re)connect; returns a JWT or API key (null: anonymous).
 *   Return a fresh token here rather than caching one: reconnects happen hours apart.
 * @property loginProvider instead of a token: a user name and password, also asked on every
 *   (re)connect; the connection signs in with `login`.
 */
public data class ClientConfig(
    val url: String,
    val okHttpClient: OkHttpClient,
    val tokenProvider: suspend () -> String? = { null },
    val loginProvider: (suspend () -> Login?)? = null,
    /** Default timeout of one call, from the moment it is made (including waiting for a connection). */
    val callTimeout: Duration = 30.seconds,
    /** Timeout of one connection attempt: WebSocket handshake, authentication and re-subscribing. */
    val connectTimeout: Duration = 15.seconds,
    /** WebSocket ping interval: a dead network is noticed within about this long. */
    val pingInterval: Duration = 15.seconds,
    val backoff: BackoffStrategy = ExponentialBackoff(),
    /** How often an idempotent call is re-sent after the connection dropped under it. */
    val maxRetries: Int = 2,
    /** Connect right away; the app can switch this with [CameraClient.setActive]. */
    val startActive: Boolean = true,
    /** Notifications kept for slow collectors; beyond this the oldest are dropped. */
    val notificationBuffer: Int = 256,
    val dispatcher: CoroutineDispatcher = Dispatchers.Default,
    val json: Json = defaultJson,
) {
    public companion object {
        /** Lenient to additions: unknown fields are ignored and nulls are not sent. */
        public val defaultJson: Json = Json {
            ignoreUnknownKeys = true
            explicitNulls = false
            coerceInputValues = true
        }
    }
}

/** Per-call settings: `null` keeps the client's default. */
public data class CallOptions(
    val timeout: Duration? = null,
    /** Re-send after a dropped connection. Default: only calls the API marks as not changing state. */
    val retry: Boolean? = null,
) {
    public companion object {
        public val DEFAULT: CallOptions = CallOptions()
    }
}

/** A user name and password for `login`; never printed. */
public class Login(public val username: String, public val password: String) {
    override fun toString(): String = "Login($username, ***)"
}
