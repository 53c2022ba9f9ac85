/// Names of docs/PROTOCOL.md shared by the server and the client.
public enum IntakeProtocol {
    /// On `GET /v1/recipients`: the largest story, in bytes, the store takes.
    public static let maxStoryHeader = "Chorus-Max-Story-Bytes"
    public static let recipientsPath = "/v1/recipients"
    public static let envelopesPath = "/v1/envelopes"
    public static let withdrawPath = "/v1/withdraw"
    /// The largest recipients document a client reads.
    public static let maxRecipientsBytes = 1 << 20
}
