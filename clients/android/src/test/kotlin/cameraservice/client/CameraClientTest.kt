package cameraservice.client

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonArray
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class CameraClientTest {
    private val service = FakeService()
    private val clients = mutableListOf<CameraClient>()

    private fun client(config: ClientConfig = testConfig(service.url)) = CameraClient(config).also { clients += it }

    @AfterEach
    fun tearDown() {
        clients.forEach { it.close() }
        service.close()
    }

    @Test
    fun `authenticates with the provider's token, then sends typed calls and decodes typed results`() = runBlocking {
        service.accept()
        service.handler = { r ->
            if (r.method == "list_cameras") {
                service.result(r, buildJsonObject {
                    put("cameras", buildJsonArray {
                        add(buildJsonObject {
                            put("id", "cam1"); put("name", "Gate"); put("source", "publisher")
                            put("status", "ONLINE"); put("enabled", true); put("a_field_from_the_future", 1)
                            put("source_type", "publisher"); put("has_credentials", false); put("on_demand", false)
                            put("tags", buildJsonArray { add(JsonPrimitive("gate")) }); put("recording", buildJsonObject {})
                            put("metadata", buildJsonObject {}); put("created_at", 1.0); put("updated_at", 2.0)
                            put("live", buildJsonObject { put("status", "ONLINE"); put("fps", 25.0) })
                        })
                    })
                    put("total", 1); put("limit", 10); put("offset", 0); put("next_cursor", null as String?)
                })
            } else service.defaultAnswer(r)
        }
        val client = client()
        val page = client.listCameras(status = CameraStatus.ONLINE, limit = 10)

        val auth = service.awaitRequest()
        assertEquals("authenticate", auth.method)
        assertEquals("token-1", auth.params!!.str("auth_token"))
        val call = service.awaitRequest("list_cameras")
        // snake_case on the wire, enums by their wire value, omitted arguments not sent at all
        assertEquals(mapOf("status" to JsonPrimitive("ONLINE"), "limit" to JsonPrimitive(10)), call.params)
        assertEquals(1, page.total)
        assertEquals("cam1", page.cameras.single().id)
        assertEquals(CameraStatus.ONLINE, page.cameras.single().status)
        assertEquals(CameraInfoSourceType.PUBLISHER, page.cameras.single().sourceType)
        assertEquals(25.0, page.cameras.single().live.fps)
        assertNull(page.nextCursor)
        assertEquals(ConnectionState.Ready, client.state.value)
    }

    @Test
    fun `an error answer is a typed RpcException with code, message and data`() = runBlocking {
        service.accept()
        service.handler = { r ->
            if (r.method == "get_camera") {
                service.error(r, -32004, "camera not found", buildJsonObject { put("resource", "camera"); put("id", "nope") })
            } else service.defaultAnswer(r)
        }
        val e = assertThrows<RpcException> { runBlocking { client().getCamera(camera = "nope") } }
        assertEquals(RpcException.NOT_FOUND, e.code)
        assertEquals("camera not found", e.rpcMessage)
        assertEquals("nope", e.data!!.let { (it as JsonObject).str("id") })
        assertEquals("get_camera", e.method)
    }

    @Test
    fun `a call without an answer times out with its own timeout and the client stays usable`() = runBlocking {
        service.accept()
        service.handler = { r -> if (r.method == "get_status") null else service.defaultAnswer(r) }
        val client = client()
        val started = System.nanoTime()
        val e = assertThrows<CallTimeoutException> {
            runBlocking { client.getStatus(options = CallOptions(timeout = 300.milliseconds)) }
        }
        assertTrue(e.message!!.contains("get_status"))
        assertTrue(System.nanoTime() - started < 4_000_000_000L, "the per-call timeout, not the default 5 s")
        assertEquals(buildJsonObject { put("ok", true) }, client.call("ping", null, JsonObject.serializer()))
    }

    @Test
    fun `cancelling a call cancels only that call`() = runBlocking {
        service.accept()
        service.handler = { r -> if (r.method == "get_status") null else service.defaultAnswer(r) }
        val client = client()
        val pending = async { client.getStatus() }
        service.awaitRequest("get_status")
        pending.cancel()
        assertTrue(pending.isCancelled)
        assertEquals(buildJsonObject { put("ok", true) }, client.call("ping", null, JsonObject.serializer()))
    }

    @Test
    fun `notifications arrive as typed objects, unknown ones and unknown enum values do not break decoding`() = runBlocking {
        service.accept()
        val client = client()
        withTimeout(5.seconds) { client.state.first { it == ConnectionState.Ready } }
        val got = async(start = CoroutineStart.UNDISPATCHED) { client.notifications.take(3).toList() }
        service.notify(0, "recording_status_update", buildJsonObject {
            put("device", "cam1"); put("camera", "cam1"); put("session_id", "s1"); put("status", "STARTED")
            put("filename", "cam1/2026"); put("duration", 5.0)
        })
        service.notify(0, "camera_status_update", buildJsonObject {
            put("device", "cam1"); put("status", "CONNECTED"); put("state", "SLEEPING"); put("name", "Gate")
            put("resolution", "320x240"); put("fps", 25); put("streams", buildJsonObject { put("rtsp", "rtsp://x") })
        })
        service.notify(0, "brand_new_notification", buildJsonObject { put("x", 1) })
        val (recording, camera, unknown) = withTimeout(5.seconds) { got.await() }
        recording as RecordingStatusUpdate
        assertEquals("STARTED", recording.status)
        assertEquals(5.0, recording.duration)
        camera as CameraStatusUpdate
        assertEquals(CameraStatus.UNKNOWN, camera.state)
        assertEquals("brand_new_notification", (unknown as Notification.Unknown).method)
    }

    @Test
    fun `event flows subscribe on the first collector, share it, and unsubscribe after the last`() = runBlocking {
        service.accept()
        val client = client()
        val flow = client.events(EventFilter(topics = listOf("alarm.*"), minSeverity = Severity.HIGH))
        assertTrue(flow === client.events(EventFilter(topics = listOf("alarm.*"), minSeverity = Severity.HIGH)))
        val first = async(start = CoroutineStart.UNDISPATCHED) { flow.take(2).toList() }
        val second = async(start = CoroutineStart.UNDISPATCHED) { flow.first() }
        val subscribe = service.awaitRequest("subscribe_events")
        assertEquals("high", subscribe.params!!.str("min_severity"))
        assertEquals(listOf("alarm.*"), subscribe.params!!["topics"]!!.jsonArray.map { it.jsonPrimitive.content })
        withTimeout(5.seconds) { flow.subscribed.first { it } }
        fun event(id: String, sub: String) = buildJsonObject {
            put("subscription", sub)
            put("event", buildJsonObject { put("id", id); put("type", "alarm.door"); put("time", 1.5); put("severity", "high") })
        }
        service.notify(0, "event", event("e0", "someone-elses"))
        service.notify(0, "event", event("e1", "sub-1"))
        service.notify(0, "event", event("e2", "sub-1"))
        assertEquals(listOf("e1", "e2"), withTimeout(5.seconds) { first.await() }.map { it.id })
        assertEquals("e1", withTimeout(5.seconds) { second.await() }.id)
        val unsubscribe = service.awaitRequest("unsubscribe_events")
        assertEquals("sub-1", unsubscribe.params!!.str("subscription"))
        assertFalse(flow.subscribed.value)
        assertTrue(service.received.none { it.method == "subscribe_events" }, "one subscription for both collectors")
    }

    @Test
    fun `after a drop it reconnects with a fresh token, restores subscriptions, and fails only non-idempotent pending calls`() = runBlocking {
        service.accept(2)
        val tokens = AtomicInteger()
        // A reconnect delay long enough for the state collector below to see Reconnecting: a StateFlow collector
        // sees only the latest state, and on a loaded machine 20 ms can pass before it runs.
        val client = client(testConfig(service.url, tokens = { "token-${tokens.incrementAndGet()}" }) {
            copy(backoff = ExponentialBackoff(initialMillis = 1000, maxMillis = 2000))
        })
        val states = mutableListOf<ConnectionState>()
        val watcher = launch(start = CoroutineStart.UNDISPATCHED) { client.state.collect { states += it } }
        val events = client.events()
        val received = async(start = CoroutineStart.UNDISPATCHED) { events.first() }
        withTimeout(5.seconds) { events.subscribed.first { it } }
        service.handler = { r -> if (r.connection == 0 && r.method != "authenticate" && r.method != "subscribe_events") null else service.defaultAnswer(r) }
        val mutating = async { runCatching { client.takeSnapshot(camera = "cam1") } }
        val readOnly = async {
            client.call("get_camera", buildJsonObject { put("camera", "cam1") }, JsonObject.serializer(), idempotent = true)
        }
        service.awaitRequest("take_snapshot"); service.awaitRequest("get_camera")

        service.sockets[0].close(1001, "server shutdown")

        val lost = withTimeout(10.seconds) { mutating.await() }.exceptionOrNull()
        assertTrue(lost is ConnectionLostException, lost.toString())
        assertTrue(lost!!.message!!.contains("take_snapshot") && lost.message!!.contains("1001"), lost.message)
        val auth = service.awaitRequest("authenticate")
        assertEquals(1, auth.connection)
        assertEquals("token-2", auth.params!!.str("auth_token"), "the provider is asked again on reconnect")
        assertEquals(1, service.awaitRequest("subscribe_events").connection, "the subscription is restored")
        val retried = service.awaitRequest("get_camera")
        assertEquals(1, retried.connection, "the read-only call is re-sent on the new connection")
        withTimeout(10.seconds) { readOnly.await() }
        withTimeout(5.seconds) { events.subscribed.first { it } }
        service.notify(1, "event", buildJsonObject {
            put("subscription", "sub-2")
            put("event", buildJsonObject { put("id", "after"); put("type", "camera.online"); put("time", 2.0) })
        })
        assertEquals("after", withTimeout(5.seconds) { received.await() }.id)
        assertTrue(service.received.none { it.method == "take_snapshot" }, "the state-changing call is never re-sent")
        watcher.cancel()
        val reconnecting = states.indexOfFirst { it is ConnectionState.Reconnecting }
        assertTrue(reconnecting > 0 && states.drop(reconnecting).contains(ConnectionState.Ready), states.toString())
    }

    @Test
    fun `a refused token fails calls with -32001 and the provider is asked again on the next attempt`() = runBlocking {
        service.accept(3)
        val tokens = AtomicInteger()
        val callWaiting = CountDownLatch(1)
        service.handler = { r ->
            if (r.method == "authenticate" && r.params!!.str("auth_token") == "bad") {
                callWaiting.await(10, TimeUnit.SECONDS) // refuse only once the call below waits for the connection
                service.error(r, -32001, "invalid token")
            } else service.defaultAnswer(r)
        }
        val client = client(testConfig(service.url, tokens = { if (tokens.incrementAndGet() == 1) "bad" else "good" }))
        // Runs until it suspends waiting for the connection; the refusal then reaches it however fast the client
        // reconnects with the next token (on a loaded machine the waiter may only see the later states).
        val pending = async(start = CoroutineStart.UNDISPATCHED) { runCatching { client.listCameras() } }
        callWaiting.countDown()
        val e = pending.await().exceptionOrNull()
        assertTrue(e is RpcException, "expected the refusal, got $e")
        assertEquals(RpcException.AUTH_REQUIRED, (e as RpcException).code)
        withTimeout(5.seconds) { client.state.first { it == ConnectionState.Ready } }
        assertTrue(tokens.get() >= 2)
        assertEquals(buildJsonObject { put("ok", true) }, client.call("ping", null, JsonObject.serializer()))
    }

    @Test
    fun `a result that is one of two shapes decodes to the member whose required fields are present`() = runBlocking {
        service.accept()
        service.handler = { r ->
            if (r.method == "take_snapshot") {
                service.result(r, buildJsonObject {
                    put("device", "camera7"); put("camera", null as String?); put("filename", null as String?)
                    put("status", "FAILED"); put("timestamp", "2026-11-30T12:00:00Z"); put("error", "no such camera")
                    put("error_code", -32004); put("error_data", null as String?)
                })
            } else service.defaultAnswer(r)
        }
        val answer = client().takeSnapshot(device = "camera7")
        answer as SnapshotFailed
        assertEquals(-32004, answer.errorCode.toInt())
        assertEquals("no such camera", answer.error)
        assertThrows<IllegalArgumentException> { CameraStatus.Serializer.serialize(NoEncoder, CameraStatus.UNKNOWN) }
        Unit
    }

    @Test
    fun `a login provider signs in with user name and password on every connect`() = runBlocking {
        service.accept(2)
        val asked = AtomicInteger()
        val client = client(testConfig(service.url) { copy(loginProvider = { asked.incrementAndGet(); Login("ana", "s3cret") }) })
        withTimeout(5.seconds) { client.state.first { it == ConnectionState.Ready } }
        val login = service.awaitRequest()
        assertEquals("login", login.method)
        assertEquals(mapOf("username" to JsonPrimitive("ana"), "password" to JsonPrimitive("s3cret")), login.params)
        service.sockets[0].close(1001, "restart")
        assertEquals("login", service.awaitRequest().method)
        assertEquals(2, asked.get())
        assertFalse(Login("ana", "s3cret").toString().contains("s3cret"))
    }

    @Test
    fun `an expired session is signed in again with a fresh token and the call sent once more`() = runBlocking {
        service.accept()
        val tokens = AtomicInteger()
        val expired = java.util.concurrent.atomic.AtomicBoolean(true)
        service.handler = { r ->
            if (r.method == "get_status" && expired.getAndSet(false)) service.error(r, -32001, "token expired")
            else service.defaultAnswer(r)
        }
        val client = client(testConfig(service.url, tokens = { "token-${tokens.incrementAndGet()}" }))
        assertEquals(
            buildJsonObject { put("ok", true) },
            client.call("get_status", null, JsonObject.serializer()),
        )
        assertEquals("token-1", service.awaitRequest("authenticate").params!!.str("auth_token"))
        service.awaitRequest("get_status")
        assertEquals("token-2", service.awaitRequest("authenticate").params!!.str("auth_token"))
        assertEquals(0, service.awaitRequest("get_status").connection, "same connection, no reconnect")
    }

    @Test
    fun `setActive(false) disconnects and refuses calls, setActive(true) reconnects`() = runBlocking<Unit> {
        service.accept(2)
        val client = client()
        withTimeout(5.seconds) { client.state.first { it == ConnectionState.Ready } }
        client.setActive(false)
        withTimeout(5.seconds) { client.state.first { it == ConnectionState.Inactive } }
        assertThrows<ClientNotActiveException> { runBlocking { client.ping() } }
        client.setActive(true)
        withTimeout(5.seconds) { client.state.first { it == ConnectionState.Ready } }
        assertEquals(2, service.sockets.size)
        client.close()
        assertEquals(ConnectionState.Closed, client.state.value)
        assertThrows<ClientNotActiveException> { runBlocking { client.ping() } }
    }

    @Test
    fun `a failed handshake is retried with backoff`() = runBlocking {
        service.refuse(503)
        service.accept()
        val client = client()
        withTimeout(10.seconds) { client.state.first { it == ConnectionState.Ready } }
        assertEquals(2, service.server.requestCount)
    }

    @Test
    fun `download resolves the service's relative links against its HTTP address`() = runBlocking {
        val client = client(testConfig(service.url) { copy(startActive = false) })
        service.server.enqueue(okhttp3.mockwebserver.MockResponse().setBody("JPEGDATA"))
        assertEquals("JPEGDATA", String(client.download("/downloads/snapshots/a.jpg?sig=1")))
        assertEquals("/downloads/snapshots/a.jpg?sig=1", service.server.takeRequest().path)
    }
}

/** Fails on any use: the enum serializer must refuse UNKNOWN before encoding anything. */
private object NoEncoder : kotlinx.serialization.encoding.AbstractEncoder() {
    override val serializersModule = kotlinx.serialization.modules.EmptySerializersModule()
}
