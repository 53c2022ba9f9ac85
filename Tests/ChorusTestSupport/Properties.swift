import PropertyBased
import Synchronization
import Testing

/// Property tests that are the same in every run: `count` inputs drawn by `input` from `seed` (a
/// fixed, printed seed: base64 of 32 bytes, as PropertyBased's `.fixedSeed` takes), each case from
/// its own `Xoshiro` state. A failing case records that state, so it can be replayed and shrunk with
/// PropertyBased itself:
///
///     @Test(.fixedSeed("<the state printed>"), .shrinking) func replay() async {
///         await propertyCheck(input: <the same generator>) { <the same body> }
///     }
///
/// (`propertyCheck` alone draws new inputs on every run; committed tests stay deterministic here.)
/// Stops at the first failing case.
public func checkProperty<Value>(seed: StaticString, count: Int, input: Generator<Value, some Sequence>,
                                 sourceLocation: SourceLocation = #_sourceLocation,
                                 _ body: (Value) async throws -> Void) async {
    guard var master = Xoshiro(seed: seed.description) else {
        Issue.record("the seed \(seed) is not base64 of 32 bytes", sourceLocation: sourceLocation)
        return
    }
    nonisolated(unsafe) let property = body
    for index in 0 ..< count {
        // Each case starts from a state of its own, derived from the master state.
        var rng = Xoshiro(seed: (master.next(), master.next(), master.next(), master.next()))
        let caseSeed = rng.currentSeed
        nonisolated(unsafe) let value = input.run(using: &rng)
        let issues = Mutex(0)
        let counting = IssueHandlingTrait.compactMapIssues { issue in
            issues.withLock { $0 += 1 }
            return issue
        }
        do {
            try await counting.provideScope(for: Test.current!, testCase: Test.Case.current) { try await property(value) }
        } catch {
            Issue.record("case \(index) of seed \(seed) threw: \(error)", sourceLocation: sourceLocation)
            issues.withLock { $0 += 1 }
        }
        if issues.withLock({ $0 }) > 0 {
            Issue.record("case \(index) of seed \(seed) failed; replay and shrink it with .fixedSeed(\"\(caseSeed)\")", sourceLocation: sourceLocation)
            return
        }
    }
}
