package cameraservice.client

import kotlinx.serialization.Serializable
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonElement

/**
 * A message the service pushes without being asked. The typed kinds are generated from the OpenRPC
 * document (GeneratedNotifications.kt); anything newer than this client arrives as [Unknown].
 */
public sealed interface Notification {
    /** A notification this client version does not know (or could not decode): method and raw params. */
    public data class Unknown(val method: String, val params: JsonElement?) : Notification
}

/** The service dropped [dropped] notifications because this client read too slowly. */
@Serializable
public data class NotificationsDropped(val dropped: Long = 0) : Notification

/** Decode one notification; unknown methods and undecodable params become [Notification.Unknown]. */
internal fun decodeNotification(json: Json, method: String, params: JsonElement?): Notification {
    val serializer = if (method == "notifications_dropped") {
        NotificationsDropped.serializer()
    } else {
        generatedNotificationSerializers[method] ?: return Notification.Unknown(method, params)
    }
    return try {
        json.decodeFromJsonElement(serializer, params ?: JsonObject(emptyMap()))
    } catch (e: SerializationException) {
        Notification.Unknown(method, params)
    } catch (e: IllegalArgumentException) {
        Notification.Unknown(method, params)
    }
}
