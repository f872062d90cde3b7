package cameraservice.client

import kotlinx.serialization.KSerializer
import kotlinx.serialization.descriptors.PrimitiveKind
import kotlinx.serialization.descriptors.PrimitiveSerialDescriptor
import kotlinx.serialization.descriptors.SerialDescriptor
import kotlinx.serialization.encoding.Decoder
import kotlinx.serialization.encoding.Encoder
import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.json.JsonContentPolymorphicSerializer
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlin.enums.EnumEntries
import kotlin.reflect.KClass

/** A generated enum: its value on the wire. */
public interface WireEnum {
    public val wire: String
}

/**
 * Enums decode values newer than this client to their UNKNOWN entry instead of failing the whole
 * answer (the service may add values; an app built today must keep working). UNKNOWN is never sent.
 */
public abstract class WireEnumSerializer<E>(
    name: String,
    private val entries: EnumEntries<E>,
    private val unknown: E,
) : KSerializer<E> where E : Enum<E>, E : WireEnum {
    override val descriptor: SerialDescriptor = PrimitiveSerialDescriptor("cameraservice.client.$name", PrimitiveKind.STRING)

    override fun serialize(encoder: Encoder, value: E) {
        require(value != unknown) { "${descriptor.serialName}.UNKNOWN cannot be sent" }
        encoder.encodeString(value.wire)
    }

    override fun deserialize(decoder: Decoder): E {
        val wire = decoder.decodeString()
        return entries.firstOrNull { it.wire == wire && it != unknown } ?: unknown
    }
}

/**
 * A result that is one of several object shapes (a generated sealed interface): decoded as the first
 * alternative whose required fields are all present, else the first one (whose decoding then names
 * what is missing).
 */
public abstract class UnionSerializer<T : Any>(
    base: KClass<T>,
    private val alternatives: List<Pair<Set<String>, DeserializationStrategy<T>>>,
) : JsonContentPolymorphicSerializer<T>(base) {
    override fun selectDeserializer(element: JsonElement): DeserializationStrategy<T> {
        val keys = (element as? JsonObject)?.keys.orEmpty()
        return alternatives.firstOrNull { (required, _) -> keys.containsAll(required) }?.second
            ?: alternatives.first().second
    }
}
