/// The lines `chorus serve --torrc` prints for an operator's `torrc`: an onion service (version 3,
/// Tor's default) whose port 80 is the server's loopback address, with Tor's proof-of-work defence
/// against floods on, and a cap on streams per circuit (one circuit cannot hold every connection
/// the server allows).
public enum Torrc {
    public static func lines(hiddenServiceDir: String, host: String, port: Int, maxStreams: Int) -> [String] {
        [
            "# Chorus intake: an onion service for chorus serve --listen \(host):\(port)",
            "HiddenServiceDir \(hiddenServiceDir)",
            "HiddenServicePort 80 \(host):\(port)",
            "HiddenServicePoWDefensesEnabled 1",
            "HiddenServiceMaxStreams \(maxStreams)",
            "HiddenServiceMaxStreamsCloseCircuit 1",
        ]
    }
}
