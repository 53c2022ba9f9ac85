/// Consecutive integer codes (years, month indices) grouped into labelled bins.
struct Bins: Sendable, Equatable {
    /// The label of each bin, in order.
    let labels: [String]
    /// The first code of each bin, ascending; bin `i` holds `starts[i] ..< starts[i + 1]`.
    let starts: [Int]
    /// One past the last code of the last bin.
    let end: Int

    /// The bin holding `code`, or nil when it lies outside every bin.
    func index(of code: Int) -> Int? {
        guard let first = starts.first, code >= first, code < end else { return nil }
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= code { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}

/// The binning rule of the `year` pseudo-field (documented on ``StatsField/Kind/year(_:)``):
/// five-year bins aligned on multiples of five when the declared range spans at most 100
/// years, else decades aligned on multiples of ten; the first and last bins are cut at the
/// bounds. The bins depend only on the declared range.
enum YearBinning {
    static func bins(_ years: ClosedRange<Int>) -> Bins {
        let width = years.count <= 100 ? 5 : 10
        var labels: [String] = [], starts: [Int] = []
        var lo = years.lowerBound
        while lo <= years.upperBound {
            let hi = min(years.upperBound, (lo / width) * width + width - 1)
            starts.append(lo)
            labels.append(lo == hi ? String(lo) : "\(lo)-\(hi)")
            lo = hi + 1
        }
        return Bins(labels: labels, starts: starts, end: years.upperBound + 1)
    }
}

/// The binning rule of the `arrival-month` pseudo-field (documented on
/// ``StatsField/Kind/arrivalMonth(_:)``): months when the range spans at most 24 months, else
/// calendar quarters when those are at most 24, else calendar years.
enum MonthBinning {
    static let maxBins = 24

    static func bins(_ range: ClosedRange<YearMonth>) -> Bins {
        let first = range.lowerBound.index, last = range.upperBound.index
        if last - first + 1 <= maxBins {
            let starts = Array(first...last)
            return Bins(labels: starts.map { YearMonth(index: $0).description }, starts: starts, end: last + 1)
        }
        let q0 = first / 3, q1 = last / 3
        if q1 - q0 + 1 <= maxBins {
            let quarters = Array(q0...q1)
            return Bins(labels: quarters.map { pad($0 / 4, 4) + "-Q" + String($0 % 4 + 1) },
                        starts: quarters.map { max(first, $0 * 3) }, end: last + 1)
        }
        let years = Array((first / 12)...(last / 12))
        return Bins(labels: years.map { pad($0, 4) }, starts: years.map { max(first, $0 * 12) }, end: last + 1)
    }
}
