@testable import ChorusStats

/// Random small groupings filled by simulated entries, so that multi-valued and data-derived
/// tables are real ones (every table the tabulator can produce, not just any numbers).
enum RandomTables {
    struct Case {
        let fields: [StatsField]
        let records: [StatsRecord]
        let minCount: Int
        let description: String
    }

    static func field(_ rng: inout SplitMix64, id: String, allowMonths: Bool) -> StatsField {
        let kind = rng.int(0...(allowMonths ? 4 : 3))
        let optional = rng.int(0...2) == 0
        switch kind {
        case 0, 1:
            let n = rng.int(1...(optional ? 3 : 4))
            return try! StatsField(id: id, label: id, values: (0..<n).map { "\(id)\($0)" }, optional: optional)
        case 2, 3:
            let n = rng.int(2...(optional ? 3 : 4))
            return try! StatsField(id: id, label: id, values: (0..<n).map { "\(id)\($0)" }, multiValued: true, optional: optional)
        default:
            return StatsField.arrivalMonth()
        }
    }

    static func make(_ rng: inout SplitMix64) -> Case {
        let twoD = rng.int(0...2) > 0
        var fields = [field(&rng, id: "a", allowMonths: true)]
        if twoD { fields.append(field(&rng, id: "b", allowMonths: fields[0].id != StatsField.arrivalMonthID)) }
        // Skewed weights make small and zero cells common.
        let palette = [0, 1, 1, 2, 4, 12]
        let weights = fields.map { f -> [Int] in
            let n: Int
            switch f.kind {
            case let .categorical(values): n = values.count
            default: n = 4
            }
            var w = (0..<n).map { _ in palette[rng.int(0...(palette.count - 1))] }
            if w.allSatisfy({ $0 == 0 }) { w[0] = 1 }
            return w
        }
        func pick(_ w: [Int], excluding: Set<Int>) -> Int? {
            let total = w.enumerated().filter { !excluding.contains($0.offset) }.reduce(0) { $0 + $1.element }
            guard total > 0 else { return nil }
            var x = rng.int(0...(total - 1))
            for (i, wi) in w.enumerated() where !excluding.contains(i) {
                if x < wi { return i }
                x -= wi
            }
            return nil
        }
        let n = rng.int(0...26)
        var records: [StatsRecord] = []
        for _ in 0..<n {
            var answers: [String: [String]] = [:]
            var month = "2024-01"
            for (d, f) in fields.enumerated() {
                switch f.kind {
                case let .categorical(values):
                    if f.optional && rng.int(0...6) == 0 { continue }
                    var chosen: Set<Int> = [pick(weights[d], excluding: [])!]
                    while f.multiValued && rng.int(0...2) == 0, let more = pick(weights[d], excluding: chosen) { chosen.insert(more) }
                    answers[f.id] = chosen.sorted().map { values[$0] }
                case .arrivalMonth:
                    month = "2024-0\(pick(weights[d], excluding: [])! + 1)"
                case .year:
                    break
                }
            }
            records.append(StatsRecord(answers: answers, arrivalMonth: month))
        }
        let k = rng.int(2...5)
        let shape = fields.map { f -> String in
            switch f.kind {
            case let .categorical(values): return "\(f.id)[\(values.count)\(f.multiValued ? " multi" : "")\(f.optional ? " optional" : "")]"
            default: return "arrival-month"
            }
        }.joined(separator: " x ")
        return Case(fields: fields, records: records, minCount: k, description: "\(shape), \(n) entries, K=\(k)")
    }
}
