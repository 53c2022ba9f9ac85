import ChorusCrypto
import ChorusFormat
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

/// Which organisation key signs each store's recipients, as this user has seen it (docs/FORMAT.md
/// 7.4): `$XDG_CONFIG_HOME/chorus/organisations` (else `~/.config/chorus/organisations`), mode 0600,
/// one line per store, `store STORE-ID FINGERPRINT SERIAL`. A submitter (and a reader) trusts a
/// store's recipients document only when its organisation key is the one pinned here for that store:
/// given explicitly (`--org-fingerprint`), or recorded on first use. A later change of key is refused
/// until the user gives the new fingerprint deliberately; for sealing, a document older (lower serial)
/// than one already seen is refused too, so an operator cannot roll the recipients back.
public struct OrganisationPins: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The default file, under the XDG configuration folder; nil without XDG_CONFIG_HOME or HOME.
    public static var defaultPath: String? {
        if let x = getenv("XDG_CONFIG_HOME"), x.pointee != 0 { return String(cString: x) + "/chorus/organisations" }
        if let h = getenv("HOME"), h.pointee != 0 { return String(cString: h) + "/.config/chorus/organisations" }
        return nil
    }

    /// What `check` did.
    public enum Outcome: Sendable, Equatable {
        /// No key was pinned for this store; this one now is (on first use).
        case pinnedOnFirstUse
        /// The pinned key signed it.
        case confirmed
        /// The user gave this key deliberately; it replaces `previous` (nil: nothing was pinned).
        case pinnedAsGiven(previous: String?)
    }

    /// Checks that `document` is signed by the organisation key pinned for its store, or by `given`
    /// (a fingerprint the user typed), and, with `record`, records what was seen (without it nothing is
    /// written: a command checks first and records once it has succeeded). With `forSealing`, a
    /// document older than the newest seen for the store is refused as well.
    @discardableResult
    public func check(_ document: RecipientsDocument, given: String?, forSealing: Bool, record: Bool = true) throws -> Outcome {
        let fingerprint = document.organisation.fingerprint
        let store = document.store
        if let given, given != fingerprint {
            throw CoreError(.untrustedOrganisation, "the recipients of store \(store) are signed by the organisation key \(fingerprint), not by \(given) as given with --org-fingerprint; nothing was done (check the fingerprint with the organisation)")
        }
        func decide() throws -> Outcome {
            var pins = try read()
            let pinned = pins[store]
            let outcome: Outcome
            if let given {
                outcome = pinned?.fingerprint == given ? .confirmed : .pinnedAsGiven(previous: pinned?.fingerprint)
            } else if let pinned {
                guard pinned.fingerprint == fingerprint else {
                    throw CoreError(.untrustedOrganisation, "the recipients of store \(store) are now signed by the organisation key \(fingerprint), not by \(pinned.fingerprint), the key pinned for it; nothing was done. If the organisation really changed its key, confirm the new fingerprint with it and run again with --org-fingerprint \(fingerprint)")
                }
                outcome = .confirmed
            } else {
                outcome = .pinnedOnFirstUse
            }
            if forSealing, let pinned, pinned.fingerprint == fingerprint, document.serial < pinned.serial {
                throw CoreError(.staleRecipients, "the recipients of store \(store) are older (serial \(document.serial)) than ones already seen (serial \(pinned.serial)): the store may have been rolled back to earlier recipients; nothing was sealed")
            }
            let serial = pinned?.fingerprint == fingerprint ? max(pinned!.serial, document.serial) : document.serial
            if record, pinned?.fingerprint != fingerprint || pinned?.serial != serial {
                pins[store] = Pin(fingerprint: fingerprint, serial: serial)
                try write(pins)
            }
            return outcome
        }
        // The file is only ever replaced by a rename, so reading it without the lock is safe.
        return record ? try withLock(decide) : try decide()
    }

    /// The key pinned for `store`, if any.
    public func pinned(store: String) throws -> String? { try read()[store]?.fingerprint }

    struct Pin: Equatable {
        var fingerprint: String
        var serial: UInt64
    }

    private func read() throws -> [String: Pin] {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path, limit: 1 << 20, what: "the pinned organisations file")
        } catch let e as SystemError where e.kind == .notFound {
            return [:]
        }
        var pins: [String: Pin] = [:]
        for (n, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 4, parts[0] == "store", Posix.isLowerHex(parts[1], count: 32),
                  let fpr = Fingerprint.normalise(String(parts[2])), fpr == parts[2], let serial = UInt64(parts[3]) else {
                throw CoreError(.invalidRecipientsDocument, "\(Posix.shown(path)), line \(n + 1), is not 'store STORE-ID FINGERPRINT SERIAL'; fix or remove it")
            }
            pins[String(parts[1])] = Pin(fingerprint: fpr, serial: serial)
        }
        return pins
    }

    private func write(_ pins: [String: Pin]) throws {
        let text = pins.keys.sorted().map { "store \($0) \(pins[$0]!.fingerprint) \(pins[$0]!.serial)\n" }.joined()
        try DurableFile.replace(path: path, contents: Array(text.utf8))
    }

    /// Runs `body` under an exclusive flock on `PATH.lock` (made with its folder, 0700, if missing).
    private func withLock<T>(_ body: () throws -> T) throws -> T {
        let folder = Posix.split(path).folder
        try Posix.makeFolders(folder, mode: 0o700)
        let lockPath = path + ".lock"
        let fd: OwnedFD
        switch Posix.openPath(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600) {
        case let .success(f): fd = f
        case let .failure(e): throw SystemError.call("open", Posix.shown(lockPath), e)
        }
        try Posix.lockExclusive(fd.raw, path: Posix.shown(lockPath))
        return try withExtendedLifetime(fd) { try body() }
    }
}
