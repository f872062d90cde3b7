package cameraservice.client

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.shareIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.SerializationStrategy
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.put
import okhttp3.OkHttpClient
import okhttp3.Request
import java.io.Closeable
import java.io.IOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds

/**
 * A connection to camera-service that keeps itself up: it connects while active, authenticates with
 * a fresh token from [ClientConfig.tokenProvider] (or signs in with [ClientConfig.loginProvider]) on
 * every (re)connect, restores event subscriptions,
 * and reconnects with [ClientConfig.backoff] after a drop. Typed methods for the whole API are
 * extension functions generated from the OpenRPC document (GeneratedMethods.kt), e.g. `listCameras()`.
 * Thread-safe; create one per service and [close] it when done.
 */
public class CameraClient(private val config: ClientConfig) : Closeable {
    private val json = config.json
    private val http: OkHttpClient = config.okHttpClient.newBuilder()
        .pingInterval(config.pingInterval.inWholeMilliseconds, java.util.concurrent.TimeUnit.MILLISECONDS)
        .build()
    private val scope = CoroutineScope(SupervisorJob() + config.dispatcher + CoroutineName("camera-client"))
    private val active = MutableStateFlow(config.startActive)
    private val _state = MutableStateFlow<ConnectionState>(ConnectionState.Inactive)
    private val current = MutableStateFlow<Connection?>(null)
    // Credentials refused while connecting: how often, and the last refusal (awaitConnection fails waiters with it).
    private val refusals = AtomicInteger()
    @Volatile private var lastRefusal: RpcException? = null
    private val streamsLock = Mutex()
    private val streams = LinkedHashSet<EventStream>()
    private val eventFlows = ConcurrentHashMap<EventFilter, EventFlow>()
    private val _notifications = MutableSharedFlow<Notification>(
        extraBufferCapacity = config.notificationBuffer,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /** The connection's state; [ConnectionState.Ready] means calls go out now. */
    public val state: StateFlow<ConnectionState> = _state.asStateFlow()

    /** Every notification the service pushes to this connection, typed (see [Notification]). */
    public val notifications: SharedFlow<Notification> = _notifications.asSharedFlow()

    /** The service's base HTTP URL (for download links, which the service returns relative). */
    public val httpBaseUrl: String = config.url
        .replaceFirst(Regex("^ws", RegexOption.IGNORE_CASE), "http")
        .let { Regex("^(https?://[^/]+)").find(it)?.value ?: it }

    init {
        scope.launch { connectionLoop() }
    }

    /** Bind to the app's lifecycle: false closes the connection (subscriptions are kept and restored). */
    public fun setActive(active: Boolean) {
        this.active.value = active
    }

    /**
     * Call [method] with raw JSON [params]. Waits for a ready connection, then for the answer, both
     * within the call's timeout. [idempotent] calls are re-sent after a dropped connection (up to
     * [ClientConfig.maxRetries] times) unless [options] say otherwise; others fail with
     * [ConnectionLostException]. Throws [RpcException] for an error answer.
     */
    public suspend fun <R> call(
        method: String,
        params: JsonElement?,
        result: DeserializationStrategy<R>,
        idempotent: Boolean = false,
        options: CallOptions = CallOptions.DEFAULT,
    ): R {
        val timeout = options.timeout ?: config.callTimeout
        val retry = options.retry ?: idempotent
        val answer = try {
            withTimeout(timeout) {
                var retries = 0
                var reauthenticated = false
                var lost: Connection? = null
                while (true) {
                    val connection = awaitConnection(lost)
                    try {
                        return@withTimeout connection.request(method, params)
                    } catch (e: ConnectionLostException) {
                        if (!retry || retries++ >= config.maxRetries) throw e
                        lost = connection
                    } catch (e: RpcException) {
                        // The session expired under a live connection: the call did not run, so sign in
                        // again with fresh credentials and send it once more.
                        if (e.code != RpcException.AUTH_REQUIRED || reauthenticated || method in AUTH_METHODS) throw e
                        reauthenticated = true
                        if (!signIn(connection)) throw e
                    }
                }
                @Suppress("UNREACHABLE_CODE")
                error("unreachable")
            }
        } catch (e: TimeoutCancellationException) {
            throw CallTimeoutException("no answer to '$method' within $timeout (state: ${_state.value})")
        }
        return json.decodeFromJsonElement(result, answer)
    }

    /** [call] with a typed params object (what the generated methods use). */
    public suspend fun <P, R> call(
        method: String,
        params: P,
        paramsSerializer: SerializationStrategy<P>,
        result: DeserializationStrategy<R>,
        idempotent: Boolean,
        options: CallOptions = CallOptions.DEFAULT,
    ): R = call(method, json.encodeToJsonElement(paramsSerializer, params), result, idempotent, options)

    /**
     * Events matching [filter] (see [EventFlow]). Flows of equal filters share one subscription.
     * A collector that is too slow loses the oldest buffered events, never blocks the connection.
     */
    public fun events(filter: EventFilter = EventFilter()): EventFlow = eventFlows.getOrPut(filter) {
        val subscribed = MutableStateFlow(false)
        val params = buildJsonObject {
            put("topics", JsonArray(filter.topics.map { JsonPrimitive(it) }))
            filter.cameras?.let { cams -> put("cameras", JsonArray(cams.map { JsonPrimitive(it) })) }
            filter.minSeverity?.let { put("min_severity", json.encodeToJsonElement(Severity.serializer(), it)) }
        }
        val upstream = channelFlow {
            val stream = EventStream(params, subscribed, config.notificationBuffer)
            register(stream)
            try {
                for (event in stream.events) send(event)
            } finally {
                scope.launch { unregister(stream) }
            }
        }
        EventFlow(upstream.shareIn(scope, SharingStarted.WhileSubscribed()), subscribed.asStateFlow())
    }

    /** GET a download link the service returned (absolute, or relative to [httpBaseUrl]); the body's bytes. */
    public suspend fun download(url: String, options: CallOptions = CallOptions.DEFAULT): ByteArray {
        val absolute = if (url.startsWith("/")) httpBaseUrl + url else url
        val request = Request.Builder().url(absolute).build()
        return try {
            withTimeout(options.timeout ?: config.callTimeout) { http.newCall(request).await() }
        } catch (e: TimeoutCancellationException) {
            throw CallTimeoutException("download of $url did not finish within ${options.timeout ?: config.callTimeout}")
        }
    }

    /** Close the connection for good; pending calls fail, the state becomes [ConnectionState.Closed]. */
    override fun close() {
        active.value = false
        current.value?.close(1000, "client closed")
        scope.cancel()
        _state.value = ConnectionState.Closed // terminal: setState never overwrites it
    }

    private fun setState(next: ConnectionState) {
        _state.update { if (it == ConnectionState.Closed) it else next }
    }

    /** The ready connection; never [lost], which the connection loop may not have noticed yet. A call waiting
     * while the service refuses the credentials fails with that refusal (-32001), even if the state moved on
     * before this waiter saw it (a StateFlow collector only sees the latest state). */
    private suspend fun awaitConnection(lost: Connection? = null): Connection {
        val refusalsSeen = refusals.get()
        while (true) {
            _state.first { state ->
                if (refusals.get() != refusalsSeen) lastRefusal?.let { throw it }
                when (state) {
                    ConnectionState.Ready -> true
                    ConnectionState.Closed -> throw ClientNotActiveException("the client is closed")
                    ConnectionState.Inactive ->
                        if (active.value) false else throw ClientNotActiveException("the client is inactive: setActive(true)")
                    is ConnectionState.Reconnecting -> {
                        val cause = state.cause
                        if (cause is RpcException && cause.code == RpcException.AUTH_REQUIRED) throw cause
                        false
                    }
                    is ConnectionState.Connecting -> false
                }
            }
            val connection = current.value
            if (connection != null && connection !== lost) return connection
            if (connection != null) _state.first { it !is ConnectionState.Ready }
        }
    }

    private suspend fun connectionLoop() {
        var failures = 0
        while (true) {
            if (!active.value) {
                setState(ConnectionState.Inactive)
                active.first { it }
                failures = 0
            }
            setState(ConnectionState.Connecting(failures + 1))
            var cause: Throwable?
            try {
                val connection = connect()
                failures = 0
                setState(ConnectionState.Ready)
                cause = ConnectionLostException(awaitEnd(connection))
            } catch (e: TimeoutCancellationException) {
                cause = IOException("connecting timed out after ${config.connectTimeout}")
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                cause = e
                if (e is RpcException && e.code == RpcException.AUTH_REQUIRED) {
                    lastRefusal = e
                    refusals.incrementAndGet()
                }
            } finally {
                dropConnection()
            }
            if (!active.value) continue
            val delay = config.backoff.delayMillis(failures)
            failures++
            setState(ConnectionState.Reconnecting(failures, delay, cause))
            withTimeoutOrNull(delay.milliseconds) { active.first { !it } }
        }
    }

    /** Open, authenticate, re-subscribe; the connection is published only once all that is done. */
    private suspend fun connect(): Connection = withTimeout(config.connectTimeout) {
        val connection = Connection(json, ::onNotification)
        try {
            connection.open(http, Request.Builder().url(config.url).build())
            connection.opened.await()
            signIn(connection)
            streamsLock.withLock {
                for (stream in streams) subscribe(stream, connection)
                current.value = connection
            }
            connection
        } catch (e: Throwable) {
            connection.close(1000, "connect failed")
            throw e
        }
    }

    /** Authenticate [connection] with fresh credentials from the providers; false: none (anonymous). */
    private suspend fun signIn(connection: Connection): Boolean {
        val login = config.loginProvider?.invoke()
        if (login != null) {
            val params = buildJsonObject {
                put("username", login.username)
                put("password", login.password)
            }
            connection.request("login", params)
            return true
        }
        val token = config.tokenProvider() ?: return false
        connection.request("authenticate", buildJsonObject { put("auth_token", token) })
        return true
    }

    /** Suspends until [connection] goes (returns why) or the app deactivates the client. */
    private suspend fun awaitEnd(connection: Connection): String = coroutineScope {
        val watcher = launch {
            active.first { !it }
            connection.close(1000, "inactive")
        }
        try {
            connection.closed.await()
        } finally {
            watcher.cancel()
        }
    }

    private suspend fun dropConnection() {
        streamsLock.withLock {
            current.value = null
            for (stream in streams) {
                stream.serverId = null
                stream.subscribed.value = false
            }
        }
    }

    private suspend fun register(stream: EventStream) {
        streamsLock.withLock {
            streams.add(stream)
            current.value?.let { connection ->
                try {
                    subscribe(stream, connection)
                } catch (e: ConnectionLostException) {
                    // restored by the next connection
                }
            }
        }
    }

    private suspend fun unregister(stream: EventStream) {
        streamsLock.withLock {
            streams.remove(stream)
            stream.subscribed.value = false
            val id = stream.serverId ?: return
            stream.serverId = null
            val connection = current.value ?: return
            connection.eventRoutes.remove(id)
            try {
                withTimeout(config.callTimeout) {
                    connection.request("unsubscribe_events", buildJsonObject { put("subscription", id) })
                }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                // the subscription ends with the connection anyway
            }
        }
    }

    private suspend fun subscribe(stream: EventStream, connection: Connection) {
        // The route is set on the reader thread, before any event of the new subscription is read.
        connection.request("subscribe_events", stream.params) { result ->
            val id = ((result as? JsonObject)?.get("subscription") as? JsonPrimitive)?.contentOrNull
            if (id != null) {
                connection.eventRoutes[id] = stream
                stream.serverId = id
            }
        }
        stream.subscribed.value = stream.serverId != null
    }

    private fun onNotification(connection: Connection, method: String, params: JsonElement?) {
        val notification = decodeNotification(json, method, params)
        if (notification is EventNotification) {
            connection.eventRoutes[notification.subscription]?.events?.trySend(notification.event)
        }
        _notifications.tryEmit(notification)
    }
}

private val AUTH_METHODS = setOf("authenticate", "login", "refresh", "logout")
