import ArgumentParser
import ChorusCore
import ChorusCrypto
import ChorusFormat
import ChorusStore
import ChorusSystem

#if canImport(Glibc)
import Glibc
#endif

struct InitCommand: ChorusCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a directory store.",
        discussion: "Creates the store's folders (mode 0700) and its configuration: the questionnaire (the built-in one, or --schema FILE) and the largest story accepted. On an existing store it changes nothing."
    )

    @Option(help: "The store folder to create.")
    var store: String

    @Option(help: "A questionnaire in JSON (docs/FORMAT.md 7.2) instead of the built-in one.")
    var schema: String?

    @Option(name: .customLong("max-story-bytes"), help: "The largest story accepted, in bytes.")
    var maxStoryBytes: Int = Story.defaultMaxBytes

    func validate() throws {
        guard (1 ... StoreConfig.maxStoryBytesLimit).contains(maxStoryBytes) else {
            throw ValidationError("--max-story-bytes must be 1 to \(StoreConfig.maxStoryBytesLimit)")
        }
    }

    func execute() throws {
        let questionnaire = try schema.map { try Schema.load(path: $0) } ?? Schema.builtIn
        if try Store.initialize(at: store, schema: questionnaire, maxStoryBytes: maxStoryBytes) {
            printErr("created the store \(shownPath(store)) (\(questionnaire.fields.count) questions, stories up to \(maxStoryBytes) bytes)")
            printErr("next, the organisation signs its recipients and questionnaire: chorus recipients add --store \(shownPath(store)) --org-key ORG.key REVIEWER.pub...")
        } else {
            printErr("\(shownPath(store)) is already a Chorus store; nothing was changed")
        }
    }
}
