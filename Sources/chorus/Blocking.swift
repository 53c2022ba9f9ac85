import Dispatch
import NIOConcurrencyHelpers

/// Runs async work from a synchronous command and waits for it (the commands are synchronous; the
/// intake server and its client are async).
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let result = NIOLockedValueBox<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await work()
            result.withLockedValue { $0 = .success(value) }
        } catch {
            result.withLockedValue { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try result.withLockedValue { $0! }.get()
}
