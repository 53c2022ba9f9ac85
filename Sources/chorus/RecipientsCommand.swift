import ArgumentParser
import ChorusCore
import ChorusFormat
import ChorusStore
import ChorusSystem

struct RecipientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "Manage a store's signed recipients and questionnaire.",
        discussion: """
            The organisation's key (keygen --role organisation) signs who the recipients of a store are \
            (name, role, public key) and which questionnaire its submitters answer. The store keeps the \
            signed list in chorus-recipients.signed; submitters seal only to it, after checking the \
            organisation key against the one they pinned, and readers interpret answers only with a \
            questionnaire it names. Nobody without the organisation's key can change either.
            """,
        subcommands: [RecipientsAddCommand.self, RecipientsRemoveCommand.self, RecipientsListCommand.self, RecipientsQuestionnaireCommand.self]
    )
}

/// `--org-key FILE` and `--passphrase-file FILE` for the commands that sign.
struct SigningOptions: ParsableArguments {
    @Option(name: .customLong("org-key"), help: "The organisation's secret key file, or its name when keygen put it in ~/.config/chorus/keys.")
    var orgKey: String

    @Option(name: .customLong("passphrase-file"), help: "Read its passphrase from the first line of this file.")
    var passphraseFile: String?

    func unlock() throws -> UnlockedOrganisationKey {
        let orgKey = try KeyFiles.secretKeyPath(self.orgKey)
        let bytes = try KeyFiles.readSecretKeyFile(orgKey)
        let file = try KeyFiles.inspectSecretKey(bytes, path: orgKey)
        let key = try Passphrase.unlocking(file: passphraseFile, keyPath: orgKey) { passphrase in
            try KeyFiles.unlockOrganisation(bytes, passphrase: passphrase, path: orgKey)
        }
        if file.opsLimit < 2 { warn("\(orgKey) uses test-only passphrase costs; never use it for real stories") }
        return key
    }
}

/// Signs `document` and installs it in `store`, then prints it.
func signAndInstall(_ document: RecipientsDocument, in store: Store, key: UnlockedOrganisationKey) throws {
    let signed = try SignedRecipients.sign(document, with: key)
    try store.install(signed)
    printErr("signed the recipients of \(store.shownPath) (serial \(document.serial)) with the organisation key \(key.fingerprint)")
    printDocument(signed.document)
}

/// The document on stdout: the organisation, the questionnaires, the recipients, one line each.
func printDocument(_ d: RecipientsDocument) {
    printOut("store \(d.store), serial \(d.serial)")
    printOut("signed by  " + d.organisation.info.line)
    for (i, q) in d.questionnaires.enumerated() {
        printOut("questionnaire \(Hex.encode(q.digest.prefix(8)))  \(i == 0 ? "current" : "earlier")  \(q.fields.count) questions")
    }
    for r in d.recipients { printOut("recipient  " + r.info.line) }
}

struct RecipientsAddCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add recipients to a store and sign the list (the first time, with the store's questionnaire).")

    @Option(help: "The store.")
    var store: String

    @OptionGroup var signing: SigningOptions

    @Argument(help: "Public key files of reviewers and analysts (.pub), or folders of them.")
    var keys: [String]

    func validate() throws {
        if keys.isEmpty { throw ValidationError("give at least one public key file to add") }
    }

    func execute() throws {
        let target = try Store.open(at: store)
        let added = try KeyFiles.loadRecipients(keys)
        for k in added where !(k.name.map(KeyName.isValid) ?? false) {
            throw CoreError(.invalidKeyName, "the key \(k.fingerprint) has no valid name in its file (\(KeyName.rule)); name it in its comment line: # chorus public key; name: NAME")
        }
        let key = try signing.unlock()
        let document: RecipientsDocument
        if let current = try target.signedRecipients()?.document {
            for k in added where current.recipients.contains(k) {
                throw CoreError(.invalidRecipients, "\(k.fingerprint) ('\(displaySafe(k.name ?? ""))') is already a recipient of \(target.shownPath)")
            }
            document = try current.changed(recipients: current.recipients + added)
        } else {
            document = try RecipientsDocument(organisation: key.publicKey, store: target.config.storeId, serial: 1, recipients: added,
                                              questionnaires: [target.config.schema])
        }
        try signAndInstall(document, in: target, key: key)
    }
}

struct RecipientsRemoveCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove recipients from a store and sign the list again.",
        discussion: "Entries already sealed to a removed key stay readable with it; new submissions are no longer sealed to it.")

    @Option(help: "The store.")
    var store: String

    @OptionGroup var signing: SigningOptions

    @Argument(help: "Fingerprints or names of the recipients to remove.")
    var which: [String]

    func validate() throws {
        if which.isEmpty { throw ValidationError("give the fingerprint or the name of each recipient to remove") }
    }

    func execute() throws {
        let target = try Store.open(at: store)
        let current = try target.requireSignedRecipients().document
        var kept = current.recipients
        for w in which {
            let fingerprint = Fingerprint.normalise(w)
            guard let i = kept.firstIndex(where: { $0.fingerprint == fingerprint || $0.name == w }) else {
                throw CoreError(.invalidRecipients, "\(displaySafe(w)) is not a recipient of \(target.shownPath) (chorus recipients list shows them)")
            }
            kept.remove(at: i)
        }
        try signAndInstall(try current.changed(recipients: kept), in: target, key: try signing.unlock())
    }
}

struct RecipientsQuestionnaireCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "questionnaire",
        abstract: "Set a store's questionnaire, signed; entries of earlier ones stay readable by their own.")

    @Option(help: "The store.")
    var store: String

    @Option(help: "The new questionnaire (JSON, docs/FORMAT.md 7.2).")
    var schema: String

    @OptionGroup var signing: SigningOptions

    func execute() throws {
        let target = try Store.open(at: store)
        let current = try target.requireSignedRecipients().document
        let new = try Schema.load(path: schema)
        guard new.digest != current.current.digest else {
            printErr("\(shownPath(schema)) is already the current questionnaire of \(target.shownPath); nothing was changed")
            return
        }
        var list = [new] + current.questionnaires.filter { $0.digest != new.digest }
        guard list.count <= RecipientsDocument.maxQuestionnaires else {
            throw CoreError(.invalidRecipientsDocument, "a store keeps at most \(RecipientsDocument.maxQuestionnaires) questionnaires; \(target.shownPath) has as many already")
        }
        list = Array(list)
        try signAndInstall(try current.changed(questionnaires: list), in: target, key: try signing.unlock())
    }
}

struct RecipientsListCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show a store's signed recipients, checked, and whether their organisation key is pinned.",
        discussion: "Reads a store, or a signed recipients file (chorus-recipients.signed, as an organisation may publish it). Nothing is pinned by listing.")

    @Argument(help: "A store folder or a signed recipients file.")
    var source: String

    func execute() throws {
        let signed: SignedRecipients
        if case let .success(st) = Posix.statPath(source), Posix.isDirectory(st) {
            signed = try Store.open(at: source).requireSignedRecipients()
        } else {
            signed = try SignedRecipients.parse(try InputFile.read(source, limit: RecipientsDocument.maxBytes, what: "recipients file"),
                                                source: shownPath(source))
        }
        printDocument(signed.document)
        let d = signed.document
        if let path = OrganisationPins.defaultPath, let pinned = try OrganisationPins(path: path).pinned(store: d.store) {
            if pinned == d.organisation.fingerprint {
                printErr("the organisation key \(pinned) is the one pinned for this store")
            } else {
                printErr("chorus: warning: this store's recipients are signed by \(d.organisation.fingerprint), but \(pinned) is pinned for it: submit and the readers will refuse them")
            }
        } else {
            printErr("no organisation key is pinned for this store yet: check \(d.organisation.fingerprint) with the organisation before the first submission")
        }
    }
}
