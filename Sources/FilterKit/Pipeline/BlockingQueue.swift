#if canImport(Glibc)
import Glibc
#endif

/// A bounded first-in first-out queue between threads: ``push(_:)`` blocks while full and
/// ``pop()`` while empty (GStreamer's `queue`), and ``close()`` wakes both sides for shutdown.
final class BlockingQueue<Element>: @unchecked Sendable {
    private var items: [Element] = []
    private let capacity: Int
    private var closed = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(changed)
        mutex.deallocate()
        changed.deallocate()
    }

    /// Appends `item`, waiting for room; returns false (dropping `item`) once the queue is closed.
    @discardableResult
    func push(_ item: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while items.count >= capacity && !closed { pthread_cond_wait(changed, mutex) }
        guard !closed else { return false }
        items.append(item)
        pthread_cond_broadcast(changed)
        return true
    }

    /// Takes the oldest item, waiting for one; nil once the queue is closed and empty.
    func pop() -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while items.isEmpty && !closed { pthread_cond_wait(changed, mutex) }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        pthread_cond_broadcast(changed)
        return item
    }

    /// Refuses further pushes and wakes every waiting thread.
    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}

/// A pointer that may cross threads because its owner hands it over through a queue.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
}

/// Runs `body` on a new thread (Dispatch's pool may be busy with compute).
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(thread)
}
