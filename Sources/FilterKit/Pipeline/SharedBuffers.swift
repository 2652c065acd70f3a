/// Float buffers shared by a consumer and a background thread, freed when the last of them lets go.
///
/// A background reader or writer may still be inside a read or write into one of these buffers
/// when its owner is deinitialised (after a failure or an early stop); the thread keeps this
/// object alive, so the memory stays valid until the thread has returned.
final class SharedBuffers: @unchecked Sendable {
    let pointers: [UnsafeMutablePointer<Float>]

    init(count: Int, capacity: Int) {
        pointers = (0..<count).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(1, capacity)) }
    }

    deinit { pointers.forEach { $0.deallocate() } }
}
