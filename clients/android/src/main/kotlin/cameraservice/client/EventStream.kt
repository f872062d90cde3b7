package cameraservice.client

import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.serialization.json.JsonObject

/** Which events a stream wants (the params of `subscribe_events`). */
public data class EventFilter(
    val topics: List<String> = listOf("*"),
    val cameras: List<String>? = null,
    val minSeverity: Severity? = null,
)

/**
 * Events of one filter. Collecting it subscribes on the service (once, however many collectors),
 * the last collector leaving unsubscribes, and the subscription is restored after every reconnect.
 * [subscribed] is true while the service has the subscription on the current connection.
 */
public class EventFlow internal constructor(
    private val shared: Flow<Event>,
    public val subscribed: StateFlow<Boolean>,
) : Flow<Event> by shared

/** One collection period of an [EventFlow]: what the connection code (re)subscribes. */
internal class EventStream(
    val params: JsonObject,
    val subscribed: MutableStateFlow<Boolean>,
    capacity: Int,
) {
    val events = Channel<Event>(capacity, BufferOverflow.DROP_OLDEST)

    /** The service's id for this stream on the current connection (null: not subscribed there). */
    @Volatile
    var serverId: String? = null
}
