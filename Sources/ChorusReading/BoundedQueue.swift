import Foundation

/// A blocking FIFO of bounded size between one producer and several consumers.
final class BoundedQueue<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T?]
    private var head = 0, count = 0
    private var closed = false
    private var waitingTakers = 0, waitingPutters = 0

    init(capacity: Int) { items = Array(repeating: nil, count: capacity) }

    func put(_ item: T) {
        condition.lock(); defer { condition.unlock() }
        while count == items.count {
            waitingPutters += 1
            condition.wait()
            waitingPutters -= 1
        }
        items[(head + count) % items.count] = item
        count += 1
        if waitingTakers > 0 { condition.broadcast() }
    }

    /// Puts `item` if there is room now; false (and nothing put) when the queue is full.
    func tryPut(_ item: T) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard count < items.count else { return false }
        items[(head + count) % items.count] = item
        count += 1
        if waitingTakers > 0 { condition.broadcast() }
        return true
    }

    /// The next item, or nil once the queue is closed and empty.
    func take() -> T? {
        condition.lock(); defer { condition.unlock() }
        while count == 0 && !closed {
            waitingTakers += 1
            condition.wait()
            waitingTakers -= 1
        }
        guard count > 0 else { return nil }
        let item = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        if waitingPutters > 0 { condition.broadcast() }
        return item
    }

    func close() {
        condition.lock(); defer { condition.unlock() }
        closed = true
        condition.broadcast()
    }
}
