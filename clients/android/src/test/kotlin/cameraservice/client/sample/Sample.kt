package cameraservice.client.sample

import cameraservice.client.CameraClient
import cameraservice.client.CameraStatus
import cameraservice.client.ClientConfig
import cameraservice.client.EventFilter
import cameraservice.client.SnapshotInfo
import cameraservice.client.listCameras
import cameraservice.client.takeSnapshot
import cameraservice.client.whoami
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.launch
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import okhttp3.OkHttpClient
import java.io.File
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * The first code an app developer copies: sign in, list cameras, take a snapshot, follow events.
 *
 *     CAMERA_SERVICE_URL=ws://host:8002/ws CAMERA_SERVICE_TOKEN=<JWT or API key> \
 *       mvn -q test-compile exec:java -Dexec.classpathScope=test
 */
fun main() = runBlocking {
    val url = System.getenv("CAMERA_SERVICE_URL") ?: "ws://localhost:8002/ws"
    val token = System.getenv("CAMERA_SERVICE_TOKEN") ?: error("set CAMERA_SERVICE_TOKEN to a JWT or an API key")
    val http = OkHttpClient() // an app has one already: pass it in
    CameraClient(ClientConfig(url = url, okHttpClient = http, tokenProvider = { token })).use { client ->
        runSample(client, followFor = 30.seconds, snapshotDir = File("."), print = ::println)
    }
    http.dispatcher.executorService.shutdown()
    http.connectionPool.evictAll()
}

/** What the sample did (the integration test checks it). */
class SampleRun(val cameras: List<String>, val snapshot: File?, val snapshotBytes: ByteArray?, val events: List<String>)

suspend fun runSample(
    client: CameraClient,
    followFor: Duration,
    snapshotDir: File,
    print: (String) -> Unit,
    maxEvents: Int = Int.MAX_VALUE,
    topics: List<String> = listOf("*"),
    whileFollowing: suspend () -> Unit = {},
): SampleRun {
    // 1. Sign in: the client authenticates with the token provider's token on connect.
    val me = client.whoami()
    print("signed in as ${me.subject} (${me.role})")

    // 2. List cameras (one page of up to 100; pass `cursor = page.nextCursor` for more).
    val cameras = client.listCameras(limit = 100).cameras
    for (camera in cameras) print("${camera.id.padEnd(16)} ${camera.status.wire.padEnd(8)} ${camera.name}")

    // 3. Snapshot of the first online camera: the answer carries a signed, short-lived download link.
    var file: File? = null
    var bytes: ByteArray? = null
    val online = cameras.firstOrNull { it.status == CameraStatus.ONLINE }
    if (online != null) {
        // Called with `camera` the answer is a SnapshotInfo (failures are RpcExceptions); the other
        // shape, SnapshotFailed, is what old-protocol calls with `device` get instead of an error.
        val snapshot = client.takeSnapshot(camera = online.id) as SnapshotInfo
        bytes = client.download(snapshot.downloadUrl)
        file = File(snapshotDir, "${online.id}-${snapshot.id}.${snapshot.format}").apply { writeBytes(bytes) }
        print("snapshot ${snapshot.width}x${snapshot.height}, ${bytes.size} bytes -> $file")
    }

    // 4. Follow events: collecting subscribes, leaving unsubscribes, reconnects re-subscribe.
    print("following events for $followFor")
    val events = mutableListOf<String>()
    val flow = client.events(EventFilter(topics = topics))
    withTimeoutOrNull(followFor) {
        coroutineScope {
            launch {
                flow.subscribed.first { it }
                whileFollowing()
            }
            flow.take(maxEvents).collect { event ->
                val line = "${event.type} camera=${event.camera ?: "-"} severity=${event.severity?.wire ?: "-"}"
                events += line
                print(line)
            }
        }
    }
    return SampleRun(cameras.map { it.id }, file, bytes, events)
}
