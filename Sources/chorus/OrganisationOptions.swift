import ArgumentParser
import ChorusCore
import ChorusStore
import ChorusSystem

/// `--org-fingerprint`: the organisation key a store's signed recipients must be signed with, given
/// explicitly (a fingerprint, or the organisation's .pub file); without it, the key pinned for the
/// store in the pins file under the XDG configuration folder, or, on first use, the key found, which
/// is then pinned (and said so).
struct OrganisationOptions: ParsableArguments {
    @Option(name: .customLong("org-fingerprint"),
            help: "The organisation's fingerprint (or its .pub file) that must sign the store's recipients (default: the one pinned on first use).")
    var orgFingerprint: String?

    /// The fingerprint given, normalised, or nil.
    func given() throws -> String? {
        guard let orgFingerprint else { return nil }
        if let f = Fingerprint.normalise(orgFingerprint) { return f }
        if case .success = Posix.statPath(orgFingerprint) { return try KeyFiles.loadOrganisationKey(orgFingerprint).fingerprint }
        throw CommandError(.usage, "--org-fingerprint \(displaySafe(orgFingerprint)): give the organisation's fingerprint (xxxx-xxxx-xxxx-xxxx) or its public key file")
    }

    /// Checks every document against the pins (one sentence per first use); with `forSealing`, an
    /// older document than one already seen is refused too. Nothing is recorded yet: the command
    /// calls the closure returned once it has succeeded, so a failed command leaves no pin behind.
    func trust(_ documents: [SignedRecipients], forSealing: Bool) throws -> () throws -> Void {
        guard let path = OrganisationPins.defaultPath else {
            throw SystemError(.invalidPath, "no HOME or XDG_CONFIG_HOME for the file that pins organisation keys; set HOME")
        }
        let pins = OrganisationPins(path: path)
        let given = try self.given()
        var said = Set<String>()
        for signed in documents {
            let d = signed.document
            let outcome = try pins.check(d, given: given, forSealing: forSealing, record: false)
            guard said.insert(d.store).inserted else { continue }
            switch outcome {
            case .pinnedOnFirstUse:
                printErr("chorus: first use of store \(d.store): its recipients are signed by the organisation key \(d.organisation.fingerprint) ('\(displaySafe(d.organisation.name ?? ""))'), which is now pinned; check this fingerprint with the organisation")
            case let .pinnedAsGiven(previous?):
                printErr("chorus: the organisation key pinned for store \(d.store) is now \(d.organisation.fingerprint), as given (it was \(previous))")
            case .pinnedAsGiven(nil), .confirmed:
                break
            }
        }
        return {
            for signed in documents { try pins.check(signed.document, given: given, forSealing: forSealing) }
        }
    }
}

/// The lines that say whom an envelope is sealed to, before it is sealed.
func sayRecipients(_ keys: [RecipientKey], signedBy document: RecipientsDocument?) {
    if let document {
        printErr("Sealing to \(keys.count) recipient\(keys.count == 1 ? "" : "s") signed by the organisation key \(document.organisation.fingerprint) for store \(document.store):")
    } else {
        printErr("Sealing to \(keys.count) key\(keys.count == 1 ? "" : "s") given by hand (check each fingerprint with its owner):")
    }
    for k in keys { printErr("  " + k.info.line) }
}
