package cameraservice.client

import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.contentOrNull

/** Base of everything a call can throw besides cancellation. */
public open class CameraClientException(message: String, cause: Throwable? = null) : Exception(message, cause)

/** The service answered with a JSON-RPC error: [code] (see the API docs' error table), [data] as sent. */
public class RpcException(
    public val code: Int,
    message: String,
    public val data: JsonElement?,
    public val method: String? = null,
) : CameraClientException(if (method != null) "$method: $message (code $code)" else "$message (code $code)") {
    /** The message as the service sent it. */
    public val rpcMessage: String = message

    public companion object {
        public const val PARSE_ERROR: Int = -32700
        public const val INVALID_REQUEST: Int = -32600
        public const val METHOD_NOT_FOUND: Int = -32601
        public const val INVALID_PARAMS: Int = -32602
        public const val INTERNAL_ERROR: Int = -32603
        public const val AUTH_REQUIRED: Int = -32001
        public const val RATE_LIMITED: Int = -32002
        public const val PERMISSION_DENIED: Int = -32003
        public const val NOT_FOUND: Int = -32004
        public const val CONFLICT: Int = -32005

        internal fun from(method: String, error: JsonObject): RpcException {
            val code = (error["code"] as? JsonPrimitive)?.intOrNull ?: INTERNAL_ERROR
            val message = (error["message"] as? JsonPrimitive)?.contentOrNull ?: "error"
            return RpcException(code, message, error["data"], method)
        }
    }
}

/**
 * The connection dropped before the answer came. The call may or may not have run on the service;
 * calls that change state are never re-sent automatically for that reason.
 */
public class ConnectionLostException(message: String, cause: Throwable? = null) : CameraClientException(message, cause)

/** No answer within the call's timeout (which includes waiting for a connection). */
public class CallTimeoutException(message: String) : CameraClientException(message)

/** The client is inactive ([CameraClient.setActive] false) or closed: nothing is sent. */
public class ClientNotActiveException(message: String) : CameraClientException(message)
