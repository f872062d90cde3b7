package cameraservice.client

import kotlinx.coroutines.CompletableDeferred
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.Response
import okhttp3.WebSocket
import okhttp3.WebSocketListener
import java.io.IOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * One WebSocket and the calls waiting on it. Replies are matched by id; every message is handled in
 * arrival order on OkHttp's reader thread (so a subscription's id is known before its first event).
 * When the socket goes, every waiting call fails with [ConnectionLostException] naming its method.
 */
internal class Connection(
    private val json: Json,
    private val onNotification: (Connection, String, JsonElement?) -> Unit,
) : WebSocketListener() {
    private class Pending(
        val method: String,
        val answer: CompletableDeferred<JsonElement>,
        val onResult: ((JsonElement) -> Unit)?,
    )

    private val ids = AtomicLong()
    private val pending = ConcurrentHashMap<Long, Pending>()
    private lateinit var socket: WebSocket
    val opened = CompletableDeferred<Unit>()

    /** Completes with the reason once the socket is gone (closed by either side or failed). */
    val closed = CompletableDeferred<String>()

    /** The service's subscription ids on THIS connection, routed to the client's streams. */
    val eventRoutes = ConcurrentHashMap<String, EventStream>()

    fun open(http: OkHttpClient, request: Request) {
        socket = http.newWebSocket(request, this)
    }

    suspend fun request(method: String, params: JsonElement?, onResult: ((JsonElement) -> Unit)? = null): JsonElement {
        val id = ids.incrementAndGet()
        val call = Pending(method, CompletableDeferred(), onResult)
        pending[id] = call // before the closed check: a close after it still sees (and fails) this call
        try {
            closed.takeIf { it.isCompleted }?.let { throw lost(method, it.getCompleted()) }
            val frame = buildJsonObject {
                put("jsonrpc", "2.0")
                put("id", id)
                put("method", method)
                if (params != null && params !is JsonNull) put("params", params)
            }
            if (!socket.send(frame.toString())) throw lost(method, "the socket is closing")
            return call.answer.await()
        } finally {
            pending.remove(id)
        }
    }

    fun close(code: Int, reason: String) {
        if (::socket.isInitialized) socket.close(code, reason)
        gone("closed by the client ($reason)")
    }

    override fun onOpen(webSocket: WebSocket, response: Response) {
        opened.complete(Unit)
    }

    override fun onMessage(webSocket: WebSocket, text: String) {
        val message = try {
            json.parseToJsonElement(text)
        } catch (e: SerializationException) {
            return // not JSON: nothing can be matched to it
        }
        when (message) {
            is JsonObject -> handle(message)
            is JsonArray -> message.forEach { if (it is JsonObject) handle(it) }
            else -> Unit
        }
    }

    private fun handle(message: JsonObject) {
        val id = message["id"]
        val method = (message["method"] as? JsonPrimitive)?.contentOrNull
        if (method != null && (id == null || id is JsonNull)) {
            onNotification(this, method, message["params"])
            return
        }
        val call = (id as? JsonPrimitive)?.longOrNull?.let { pending.remove(it) } ?: return
        val error = message["error"]
        if (error is JsonObject) {
            call.answer.completeExceptionally(RpcException.from(call.method, error))
        } else {
            val result = message["result"] ?: JsonNull
            call.onResult?.invoke(result)
            call.answer.complete(result)
        }
    }

    override fun onClosing(webSocket: WebSocket, code: Int, reason: String) {
        webSocket.close(1000, null)
        gone("the service closed the connection ($code${if (reason.isNotEmpty()) " $reason" else ""})")
    }

    override fun onClosed(webSocket: WebSocket, code: Int, reason: String) {
        gone("the connection closed ($code $reason)")
    }

    override fun onFailure(webSocket: WebSocket, t: Throwable, response: Response?) {
        val why = if (response != null) "HTTP ${response.code} at the handshake" else t.toString()
        opened.completeExceptionally(IOException("cannot connect: $why", t))
        gone("the connection failed ($why)")
    }

    private fun gone(reason: String) {
        if (!closed.complete(reason)) return
        opened.completeExceptionally(IOException(reason))
        for (id in pending.keys.toList()) {
            val call = pending.remove(id) ?: continue
            call.answer.completeExceptionally(lost(call.method, reason))
        }
    }

    private fun lost(method: String, reason: String) = ConnectionLostException(
        "no answer to '$method': $reason; it may or may not have run on the service",
    )
}
