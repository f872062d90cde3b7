package cameraservice.client

import kotlinx.coroutines.suspendCancellableCoroutine
import okhttp3.Call
import okhttp3.Callback
import okhttp3.Response
import java.io.IOException
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/** Run an OkHttp call without blocking a thread; cancelling the coroutine cancels the request. */
internal suspend fun Call.await(): ByteArray = suspendCancellableCoroutine { cont ->
    cont.invokeOnCancellation { cancel() }
    enqueue(object : Callback {
        override fun onFailure(call: Call, e: IOException) {
            cont.resumeWithException(e)
        }

        override fun onResponse(call: Call, response: Response) {
            response.use {
                if (!it.isSuccessful) {
                    cont.resumeWithException(IOException("HTTP ${it.code} for ${call.request().url.encodedPath}"))
                    return
                }
                val bytes = try {
                    it.body!!.bytes()
                } catch (e: IOException) {
                    cont.resumeWithException(e)
                    return
                }
                cont.resume(bytes)
            }
        }
    })
}
