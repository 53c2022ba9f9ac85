#if canImport(Glibc)
import Glibc
#endif

/// A calendar date in UTC, from the system clock: the one place Chorus asks for the date. Only the
/// month of arrival is ever sealed with a story; the year bounds `year` answers; the day dates a
/// published report.
public struct UTCDate: Sendable, Equatable {
    public let year: Int
    /// 1 ... 12.
    public let month: Int
    /// 1 ... 31.
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Today, in UTC.
    public static func now() -> UTCDate { UTCDate(secondsSince1970: Int(time(nil))) }

    /// The day of a moment given in seconds since 1970-01-01T00:00:00Z.
    public init(secondsSince1970 seconds: Int) {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        self.init(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))
    }

    /// `YYYY-MM`.
    public var monthText: String { Self.pad(year, 4) + "-" + Self.pad(month, 2) }

    /// `YYYY-MM-DD`.
    public var dayText: String { monthText + "-" + Self.pad(day, 2) }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
