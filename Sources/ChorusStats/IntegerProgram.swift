import CGLPK
import Synchronization

/// An integer linear program, solved by GLPK's branch and cut (`glp_intopt`): integer
/// variables with bounds, linear rows with bounds, one objective. The only code that calls GLPK.
///
/// GLPK writes to standard output unless told not to, and `chorus stats` writes its report
/// there: every call here runs with GLPK's terminal output off and its messages off. GLPK keeps
/// per-thread state and aborts the process on an invalid call (a bound the wrong way round, an
/// index out of range), so the program is checked before it reaches GLPK, and one lock makes
/// sure one solve runs at a time.
struct IntegerProgram {
    /// `Σ coefficient · variable` within `lo ... hi` (nil: unbounded on that side).
    struct Row {
        var terms: [(variable: Int, coefficient: Double)]
        var lo: Double?
        var hi: Double?
    }

    /// Per variable: its bounds (nil upper: unbounded above). Every variable is an integer.
    var lower: [Double] = []
    var upper: [Double?] = []
    var rows: [Row] = []

    enum Outcome: Equatable {
        /// An optimal integer solution.
        case optimal([Int])
        /// The time limit was hit with an integer solution that may not be optimal (still a
        /// solution: every row and bound holds).
        case feasible([Int])
        /// No integer solution exists.
        case infeasible
        /// The time limit was hit before any integer solution was found, or GLPK failed.
        case unknown
    }

    /// Adds an integer variable within `lo ... hi` and returns its index.
    mutating func addVariable(lo: Double = 0, hi: Double? = nil) -> Int {
        lower.append(lo)
        upper.append(hi)
        return lower.count - 1
    }

    private static let lock = Mutex(())

    /// Minimises (or, with `maximize`, maximises) `Σ coefficient · variable`, giving up after
    /// `timeLimitMilliseconds`.
    func solve(objective: [(variable: Int, coefficient: Double)], maximize: Bool = false, timeLimitMilliseconds: Int) -> Outcome {
        let n = lower.count
        guard n > 0 else { return rows.allSatisfy({ ($0.lo ?? 0) <= 0 && 0 <= ($0.hi ?? 0) }) ? .optimal([]) : .infeasible }
        // The checks GLPK would otherwise answer with abort().
        for j in 0..<n {
            guard lower[j].isFinite, upper[j].map({ $0.isFinite && $0 >= lower[j] }) ?? true else { return .infeasible }
        }
        for row in rows {
            if let lo = row.lo, let hi = row.hi, lo > hi { return .infeasible }
            guard row.terms.allSatisfy({ (0..<n).contains($0.variable) && $0.coefficient.isFinite }) else { return .unknown }
        }
        guard objective.allSatisfy({ (0..<n).contains($0.variable) }) else { return .unknown }

        return Self.lock.withLock { _ -> Outcome in
            glp_term_out(GLP_OFF)
            guard let p = glp_create_prob() else { return .unknown }
            defer { glp_delete_prob(p) }
            glp_set_obj_dir(p, maximize ? GLP_MAX : GLP_MIN)
            glp_add_cols(p, Int32(n))
            for j in 0..<n {
                let col = Int32(j + 1)
                if let hi = upper[j] {
                    glp_set_col_bnds(p, col, hi == lower[j] ? GLP_FX : GLP_DB, lower[j], hi)
                } else {
                    glp_set_col_bnds(p, col, GLP_LO, lower[j], 0)
                }
                glp_set_col_kind(p, col, GLP_IV)
            }
            for t in objective { glp_set_obj_coef(p, Int32(t.variable + 1), glp_get_obj_coef(p, Int32(t.variable + 1)) + t.coefficient) }
            var ia: [Int32] = [0], ja: [Int32] = [0], ar: [Double] = [0]
            if !rows.isEmpty {
                glp_add_rows(p, Int32(rows.count))
                for (i, row) in rows.enumerated() {
                    let r = Int32(i + 1)
                    switch (row.lo, row.hi) {
                    case let (lo?, hi?): glp_set_row_bnds(p, r, lo == hi ? GLP_FX : GLP_DB, lo, hi)
                    case let (lo?, nil): glp_set_row_bnds(p, r, GLP_LO, lo, 0)
                    case let (nil, hi?): glp_set_row_bnds(p, r, GLP_UP, 0, hi)
                    case (nil, nil): glp_set_row_bnds(p, r, GLP_FR, 0, 0)
                    }
                    // GLPK refuses a variable twice in one row: coefficients of a repeated one are added.
                    var merged: [Int: Double] = [:]
                    for t in row.terms { merged[t.variable, default: 0] += t.coefficient }
                    for (v, c) in merged.sorted(by: { $0.key < $1.key }) where c != 0 {
                        ia.append(r)
                        ja.append(Int32(v + 1))
                        ar.append(c)
                    }
                }
                glp_load_matrix(p, Int32(ia.count - 1), ia, ja, ar)
            }
            var parm = glp_iocp()
            glp_init_iocp(&parm)
            parm.msg_lev = GLP_MSG_OFF
            parm.presolve = GLP_ON
            parm.tm_lim = Int32(clamping: max(1, timeLimitMilliseconds))
            let rc = glp_intopt(p, &parm)
            let status = glp_mip_status(p)
            func values() -> [Int] { (0..<n).map { Int((glp_mip_col_val(p, Int32($0 + 1))).rounded()) } }
            if rc == 0 {
                switch status {
                case GLP_OPT: return .optimal(values())
                case GLP_FEAS: return .feasible(values())
                case GLP_NOFEAS: return .infeasible
                default: return .unknown
                }
            }
            if rc == GLP_ENOPFS { return .infeasible }
            if rc == GLP_ETMLIM || rc == GLP_EMIPGAP || rc == GLP_ESTOP, status == GLP_FEAS { return .feasible(values()) }
            return .unknown
        }
    }

    /// Whether `values` satisfies every bound and row exactly (GLPK works in floating point:
    /// a solution counts as a witness only after this check in integers).
    func isSolution(_ values: [Int]) -> Bool {
        guard values.count == lower.count else { return false }
        for j in values.indices {
            if Double(values[j]) < lower[j] { return false }
            if let hi = upper[j], Double(values[j]) > hi { return false }
        }
        for row in rows {
            var sum = 0.0
            for t in row.terms { sum += t.coefficient * Double(values[t.variable]) }
            if let lo = row.lo, sum < lo { return false }
            if let hi = row.hi, sum > hi { return false }
        }
        return true
    }
}
