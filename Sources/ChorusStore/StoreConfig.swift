import ChorusCore
import ChorusFormat
import ChorusSystem
import Foundation

/// The configuration file of a store, `chorus-store.json` (docs/FORMAT.md 7.2).
public struct StoreConfig: Codable, Equatable, Sendable {
    public static let formatName = "chorus-store"
    public static let currentVersion = 1
    /// The largest story a store may accept: the largest story section less its 4-byte length.
    public static let maxStoryBytesLimit = EnvelopeFormat.storyMaximum - 4
    public static let fileName = "chorus-store.json"
    static let sizeLimit = 4 * 1024 * 1024

    public var format: String
    public var version: Int
    /// 32 lowercase hex characters, random, made by `init`.
    public var storeId: String
    public var maxStoryBytes: Int
    public var schema: Schema

    public init(storeId: String, maxStoryBytes: Int, schema: Schema) {
        format = Self.formatName
        version = Self.currentVersion
        self.storeId = storeId
        self.maxStoryBytes = maxStoryBytes
        self.schema = schema
    }

    /// The largest story section (padded length) an envelope for this store may have.
    public var maxStorySectionLength: Int {
        Padme.sectionLength(content: maxStoryBytes, minimum: EnvelopeFormat.storyMinimum)
    }

    /// The JSON written to `chorus-store.json`: sorted keys, two-space indentation, final newline.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Parses and checks `chorus-store.json`; `store` is the store's path as shown, for messages.
    static func parse(_ bytes: [UInt8], store path: String) throws -> StoreConfig {
        let configPath = Posix.join(path, fileName)
        func fail(_ message: String) -> StoreError { StoreError(.notAStore, message) }
        struct Probe: Decodable {
            var format: String?
            var version: Int?
        }
        let data = Data(bytes)
        guard let probe = try? JSONDecoder().decode(Probe.self, from: data) else {
            throw fail("\(configPath) does not parse as a JSON object with a \"format\" and a \"version\"")
        }
        guard probe.format == formatName else {
            throw fail("\(path) is not a Chorus store: \(fileName) does not say \"format\": \"\(formatName)\"")
        }
        guard let version = probe.version, version >= 1 else { throw fail("\(configPath) has no valid \"version\"") }
        guard version <= currentVersion else {
            throw fail("\(path) was made by a newer Chorus (store format version \(version)); this version reads version \(currentVersion) only")
        }
        let config: StoreConfig
        do {
            config = try JSONDecoder().decode(StoreConfig.self, from: data)
        } catch let e as DecodingError {
            throw fail("\(configPath) does not parse: \(describe(e))")
        } catch {
            throw fail("\(configPath) does not parse")
        }
        guard Posix.isLowerHex(config.storeId, count: 32) else {
            throw fail("\(configPath) has a \"storeId\" that is not 32 lowercase hex characters")
        }
        guard (1 ... maxStoryBytesLimit).contains(config.maxStoryBytes) else {
            throw fail("\(configPath) has a \"maxStoryBytes\" outside 1...\(maxStoryBytesLimit)")
        }
        do {
            try config.schema.validate(source: "the schema in \(configPath)")
        } catch {
            throw fail(error.message)
        }
        return config
    }

    /// A short phrase for a JSON decoding error: which field, and what was wrong. The field is named
    /// by its path, e.g. `"schema.fields[0].label"`.
    static func describe(_ e: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            guard !path.isEmpty else { return "the top level" }
            var text = ""
            for key in path {
                if let i = key.intValue {
                    text += "[\(i)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + displaySafe(key.stringValue)
                }
            }
            return "\"" + text + "\""
        }
        switch e {
        case let .keyNotFound(key, ctx): return "the field \(at(ctx.codingPath + [key])) is missing"
        case let .typeMismatch(_, ctx): return "\(at(ctx.codingPath)) has the wrong type"
        case let .valueNotFound(_, ctx): return "\(at(ctx.codingPath)) is null"
        case let .dataCorrupted(ctx): return ctx.codingPath.isEmpty ? "it is not valid JSON" : "\(at(ctx.codingPath)) has an invalid value"
        @unknown default: return "it is not a valid configuration"
        }
    }
}
