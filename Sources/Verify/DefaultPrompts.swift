/// The built-in prompt set `verify` runs when no `--prompts` or `--text` is given: chats through the Gemma template
/// (model turns scored), English prose long enough to pass the 512-token sliding window (so local and global
/// attention layers both matter), code, several languages and numbers — about 1,900 tokens with Gemma 3's
/// vocabulary. Written for Kiln; not taken from any data set.
public enum DefaultPrompts {
    public static let items: [PromptItem] = [
        .chat([
            ChatMessage(role: "user", content: "What is the difference between weather and climate? Keep it short."),
            ChatMessage(role: "assistant", content: """
                Weather is what the atmosphere is doing right now or over the next few days: temperature, rain, wind \
                and clouds in one place. Climate is the long-term pattern of that weather, usually averaged over thirty \
                years or more. A cold week in July is weather; the fact that July is usually warm is climate.
                """),
            ChatMessage(role: "user", content: "Give me one example of each for Lisbon."),
            ChatMessage(role: "assistant", content: """
                Weather: tomorrow afternoon in Lisbon will be sunny with a light northerly wind and a high of 27 °C. \
                Climate: Lisbon has a Mediterranean climate, with dry, warm summers and mild, wet winters.
                """),
        ]),
        .chat([
            ChatMessage(role: "system", content: "You are a patient tutor who answers in plain language."),
            ChatMessage(role: "user", content: "Why does ice float on water?"),
            ChatMessage(role: "assistant", content: """
                Because ice is less dense than liquid water. When water freezes, its molecules lock into a hexagonal \
                crystal held together by hydrogen bonds, and that open structure takes up about nine percent more \
                space than the same molecules do as a liquid. Less mass in the same volume means the ice is pushed \
                up by the water around it, so it floats with roughly a tenth of its volume above the surface.
                """),
        ]),
        .raw(longProse),
        .raw(code),
        .raw("""
            Le matin, le marché du village s'anime bien avant le lever du soleil. Les maraîchers installent leurs étals, \
            le boulanger apporte des paniers de pain encore chaud, et les premiers clients discutent du temps qu'il fera.
            Im Herbst sammeln die Kinder Kastanien im Park und bauen daraus kleine Tiere mit Zahnstochern als Beinen. \
            Am Abend wird es früh dunkel, und in den Küchen riecht es nach Apfelkuchen.
            El río atraviesa la ciudad de norte a sur, y en verano la gente se sienta en la orilla para ver la puesta \
            de sol mientras los niños juegan con barcos de papel.
            東京の朝は早い。駅には通勤する人々が集まり、電車は数分おきに到着する。昼になると、公園で弁当を食べる人の姿が見える。
            春天来了，山上的花都开了。农民们在田里忙着播种，孩子们在河边放风筝，空气里有泥土和青草的味道。
            """),
        .raw("""
            Quarterly report, figures in thousands of euros. Revenue: Q1 1,284.5; Q2 1,402.9; Q3 1,377.1; Q4 1,598.6. \
            Total for the year: 5,663.1, up 12.4% from 5,038.2 the year before. Operating costs rose from 3,911.0 to \
            4,206.7, so the operating margin improved from 22.4% to 25.7%. Check: 1284.5 + 1402.9 = 2687.4; \
            2687.4 + 1377.1 = 4064.5; 4064.5 + 1598.6 = 5663.1. Powers of two: 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, \
            1024, 2048, 4096. The first primes are 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47. \
            π ≈ 3.14159265, e ≈ 2.71828183, √2 ≈ 1.41421356. On 2024-03-15 at 14:30 the temperature was 18.5 °C.
            """),
    ]

    static let code = #"""
        import Foundation

        /// A fixed-size ring buffer that overwrites its oldest element when full.
        struct RingBuffer<Element> {
            private var storage: [Element?]
            private var head = 0
            private(set) var count = 0

            init(capacity: Int) {
                precondition(capacity > 0, "capacity must be positive")
                storage = Array(repeating: nil, count: capacity)
            }

            mutating func append(_ value: Element) {
                storage[(head + count) % storage.count] = value
                if count < storage.count {
                    count += 1
                } else {
                    head = (head + 1) % storage.count
                }
            }

            func element(at index: Int) -> Element? {
                guard index >= 0 && index < count else { return nil }
                return storage[(head + index) % storage.count]
            }
        }

        def moving_average(values, window):
            """Return the moving averages of `values` over `window` items."""
            if window <= 0:
                raise ValueError("window must be positive")
            total = sum(values[:window])
            result = [total / window]
            for i in range(window, len(values)):
                total += values[i] - values[i - window]
                result.append(total / window)
            return result
        """#

    static let longProse = """
        The lighthouse stood at the end of a narrow spit of rock, half a mile from the last house in the village. For \
        more than a century it had been tended by a single family, each generation teaching the next how to trim the \
        wick, polish the great lens and keep the log in a careful, slanting hand. The log books filled a whole shelf \
        in the keeper's cottage, and anyone who read them from the beginning could follow the history of the coast: \
        storms that tore the roof from the boathouse, winters when the harbour froze, summers so calm that the sea \
        lay like a sheet of glass from one headland to the other.

        Maria was the last keeper. She had come to the lighthouse as a child, when her grandfather still climbed the \
        hundred and twelve steps every evening, and she had stayed after the light was automated, because nobody else \
        wanted the cottage and because she could not imagine waking anywhere else. The automation had been quick and \
        quiet. Two engineers arrived one spring with a van full of equipment, replaced the old clockwork with an \
        electric motor, fitted a sensor that switched the lamp on at dusk, and left a telephone number to call if \
        anything went wrong. Nothing did. The light turned every night without her, and for the first time in her \
        life Maria had evenings with nothing to do.

        At first she filled them with small repairs. She repainted the railings, replaced the cracked panes in the \
        lantern room and rebuilt the dry stone wall that kept the sheep off the path. Then she began to read the old \
        log books properly, not as a record of duties but as a story. She noticed things she had never seen before: \
        the way her great-grandmother's handwriting grew shaky in the winter of the long fever, the single line in \
        1927 that said only "ship passed safely, thank God", the years when the entries were written in two hands \
        because a husband and wife had shared the watch.

        She started to write her own notes beside the old ones, in pencil so that they could be erased. Where an entry \
        mentioned a ship by name, she looked it up in the harbour records and added where it had been going and what \
        it had carried. Where a storm was described, she found the newspaper reports and copied the number of boats \
        lost. Slowly the shelf of log books became something more than a record of a light: it became a history of \
        everyone who had depended on it, the fishermen and the ferry crews, the cargo ships that passed far out on \
        the horizon and the small boats that came home late with their lanterns swinging.

        One autumn a student from the university came to ask about the lighthouse for a project on the history of \
        the coast. She had expected to spend an afternoon; she stayed for a week, sleeping in the spare room and \
        reading at the kitchen table while Maria made soup and answered questions. When she left, she took copies of \
        three log books and a promise to come back. She did come back, the next summer, with two friends and a \
        scanner, and by the end of August every page of every log book had been photographed, transcribed and put \
        into a database that anyone could search.

        Now people write to Maria from all over the world. A man in Canada found the night his grandfather's ship \
        sheltered in the bay during a gale. A woman in New Zealand learned that her great-aunt had been born in the \
        cottage during a snowstorm, delivered by the keeper's wife because the doctor could not get through. Maria \
        answers every letter by hand, at the same table where the log books were written, and in the evenings she \
        still climbs the hundred and twelve steps to watch the light come on, even though it no longer needs her.
        """
}

extension DefaultPrompts {
    /// The chat check's prompt when `--chat-prompt` is not given.
    public static let chatPrompt = "Write a short poem about a lighthouse keeper."
}
