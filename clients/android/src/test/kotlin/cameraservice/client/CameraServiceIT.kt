package cameraservice.client

import cameraservice.client.sample.runSample
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.double
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.MethodOrderer
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.TestMethodOrder
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * Against a real camera-service (tests/integration/test_kotlin_client.py starts one and runs `mvn verify`):
 * CAMERA_SERVICE_URL, CAMERA_SERVICE_TOKEN (admin), CAMERA_SERVICE_CAMERA (a publishing test camera),
 * CAMERA_SERVICE_PTZ_CAMERA (the ONVIF simulator) and CAMERA_SERVICE_CONTROL_URL (POST /restart restarts
 * the service on the same port and answers once it is back).
 */
@EnabledIfEnvironmentVariable(named = "CAMERA_SERVICE_URL", matches = ".+")
@EnabledIfEnvironmentVariable(named = "CAMERA_SERVICE_TOKEN", matches = ".+")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation::class)
class CameraServiceIT {
    private val url = System.getenv("CAMERA_SERVICE_URL")
    private val token = System.getenv("CAMERA_SERVICE_TOKEN")
    private val camera = System.getenv("CAMERA_SERVICE_CAMERA") ?: "cam1"
    private val http = OkHttpClient.Builder().readTimeout(60, TimeUnit.SECONDS).build()
    private val clients = mutableListOf<CameraClient>()

    private fun client(tokens: suspend () -> String? = { token }) =
        CameraClient(ClientConfig(url = url, okHttpClient = http, tokenProvider = tokens, callTimeout = 30.seconds))
            .also { clients += it }

    @AfterAll
    fun closeAll() = clients.forEach { it.close() }

    @Test
    @Order(1)
    fun `the sample lists cameras, saves a JPEG snapshot and follows events`(@TempDir dir: File) = runBlocking {
        val client = client()
        val lines = mutableListOf<String>()
        val run = runSample(client, followFor = 30.seconds, snapshotDir = dir, print = { lines += it },
            maxEvents = 1, topics = listOf("it.sample")) {
            client.createEvent(type = "it.sample", camera = camera, severity = Severity.HIGH)
        }
        assertTrue(camera in run.cameras, run.cameras.toString())
        val jpeg = run.snapshotBytes!!
        assertTrue(jpeg.size > 1000, "a real picture, ${jpeg.size} bytes")
        assertEquals(listOf(0xFF, 0xD8, 0xFF), jpeg.take(3).map { it.toInt() and 0xFF }, "JPEG start of image")
        assertEquals(listOf(0xFF, 0xD9), jpeg.takeLast(2).map { it.toInt() and 0xFF }, "JPEG end of image")
        assertTrue(run.snapshot!!.readBytes().contentEquals(jpeg))
        assertEquals(listOf("it.sample camera=$camera severity=high"), run.events)
        assertTrue(lines.first().startsWith("signed in as "), lines.first())
    }

    @Test
    @Order(2)
    fun `start and stop recording arrive as typed status notifications`() = runBlocking {
        val client = client()
        withTimeout(20.seconds) { client.state.first { it == ConnectionState.Ready } }
        val updates = async(start = CoroutineStart.UNDISPATCHED) {
            client.notifications.filterIsInstance<RecordingStatusUpdate>().filter { it.camera == camera }.take(2).toList()
        }
        val started = client.startRecording(camera = camera)
        val stopped = client.stopRecording(camera = camera)
        val (first, second) = withTimeout(20.seconds) { updates.await() }
        assertEquals("STARTED", first.status)
        assertEquals("STOPPED", second.status)
        assertEquals("requested", second.reason)
        assertEquals(first.sessionId, second.sessionId)
        assertEquals(started.sessionId, first.sessionId, "the notification names the session start_recording made")
        assertEquals(stopped.sessionId, second.sessionId)
    }

    @Test
    @Order(3)
    fun `a PTZ move reaches the ONVIF simulator and its status reads back`() = runBlocking {
        val ptzCamera = System.getenv("CAMERA_SERVICE_PTZ_CAMERA")
        assumeTrue(ptzCamera != null, "CAMERA_SERVICE_PTZ_CAMERA names a PTZ camera")
        val client = client()
        val moved = client.ptz(camera = ptzCamera, action = PtzAction.ABSOLUTE_MOVE, pan = 0.3, tilt = -0.2, zoom = 0.5)
        assertEquals(ptzCamera, moved.camera)
        val status = client.ptz(camera = ptzCamera, action = PtzAction.GET_STATUS).result.jsonObject
        assertEquals(0.3, status["pan"]!!.jsonPrimitive.double, 1e-6)
        assertEquals(-0.2, status["tilt"]!!.jsonPrimitive.double, 1e-6)
        assertEquals(0.5, status["zoom"]!!.jsonPrimitive.double, 1e-6)
        val e = runCatching { client.ptz(camera = ptzCamera, action = PtzAction.CONTINUOUS_MOVE, pan = 0.95) }.exceptionOrNull()
        assertTrue(e is RpcException && e.code == RpcException.INVALID_PARAMS, "the simulator's range is +-0.8: $e")
    }

    @Test
    @Order(4)
    fun `a bad token fails calls with RpcException -32001`() = runBlocking {
        val client = client(tokens = { "not-a-valid-token" })
        val e = runCatching { client.listCameras() }.exceptionOrNull()
        assertTrue(e is RpcException, e.toString())
        assertEquals(RpcException.AUTH_REQUIRED, (e as RpcException).code)
        val state = client.state.value
        assertTrue(state is ConnectionState.Reconnecting || state is ConnectionState.Connecting, state.toString())
    }

    @Test
    @Order(5)
    fun `a service restart under a connected client - reconnects, restores the subscription, fails the pending call`() =
        runBlocking {
            val control = System.getenv("CAMERA_SERVICE_CONTROL_URL")
            assumeTrue(control != null, "CAMERA_SERVICE_CONTROL_URL restarts the service")
            val tokensAsked = java.util.concurrent.atomic.AtomicInteger()
            val client = client(tokens = { tokensAsked.incrementAndGet(); token })
            val states = mutableListOf<ConnectionState>()
            val watcher = launch(start = CoroutineStart.UNDISPATCHED) { client.state.collect { states += it } }
            val events = client.events(EventFilter(topics = listOf("it.restart.*")))
            val received = async(start = CoroutineStart.UNDISPATCHED) { events.first { it.type == "it.restart.after" } }
            withTimeout(20.seconds) { events.subscribed.first { it } }
            // A state-changing call the service is still working on when it goes down (a 20 s discovery
            // probe to a port nobody answers on); it must fail at once, not after its 60 s timeout.
            val pending = async {
                runCatching {
                    client.call(
                        "discover_cameras",
                        buildJsonObject { putJsonArray("hosts") { add(JsonPrimitive("127.0.0.1:9")) }; put("timeout_s", 20) },
                        JsonObject.serializer(),
                        idempotent = false,
                        options = CallOptions(timeout = 60.seconds),
                    )
                }
            }
            delay(300) // let the request leave; the outcome must be the same if it had not
            val restart = async(Dispatchers.IO) { post("$control/restart") }

            val failure = withTimeout(45.seconds) { pending.await() }.exceptionOrNull()
            assertTrue(failure is ConnectionLostException, "a clear exception, not a hang or a timeout: $failure")
            assertTrue(failure!!.message!!.contains("discover_cameras"), failure.message)
            assertEquals(200, withTimeout(90.seconds) { restart.await() })
            withTimeout(60.seconds) { client.state.first { it == ConnectionState.Ready } }
            withTimeout(30.seconds) { events.subscribed.first { it } }
            client.createEvent(type = "it.restart.after", camera = camera)
            assertEquals("it.restart.after", withTimeout(20.seconds) { received.await() }.type)
            watcher.cancel()
            val reconnecting = states.indexOfFirst { it is ConnectionState.Reconnecting }
            assertTrue(reconnecting > 0 && ConnectionState.Ready in states.drop(reconnecting), states.toString())
            assertTrue(tokensAsked.get() >= 2, "a fresh token for the new connection")
        }

    private fun post(url: String): Int =
        http.newCall(Request.Builder().url(url).post(ByteArray(0).toRequestBody()).build()).execute().use { it.code }
}
