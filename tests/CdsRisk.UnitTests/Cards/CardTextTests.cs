using CdsRisk.Core.Cards;

namespace CdsRisk.UnitTests.Cards;

public sealed class CardTextTests
{
    [Fact]
    public void FitSummary_KeepsShortSummariesAsTheyAre()
    {
        Assert.Equal("Low recurrence risk", CardText.FitSummary("Low recurrence risk"));
    }

    [Fact]
    public void FitSummary_ShortensLongSummariesTo139CharactersWithAnEllipsis()
    {
        var fitted = CardText.FitSummary(new string('a', 200));
        Assert.Equal(139, fitted.Length);
        Assert.EndsWith("…", fitted);
    }

    [Fact]
    public void FitSummary_NeverSplitsASurrogatePair()
    {
        var fitted = CardText.FitSummary(new string('a', 137) + "😀😀😀");
        Assert.True(fitted.Length <= 139);
        Assert.False(char.IsHighSurrogate(fitted[^2]));
    }

    [Fact]
    public void FitSummary_JoinsLinesIntoOne()
    {
        Assert.Equal("a b", CardText.FitSummary("a\n  b"));
    }

    [Theory]
    [InlineData("a|b", "a\\|b")]
    [InlineData("*bold* _it_", "\\*bold\\* \\_it\\_")]
    [InlineData("<script>", "\\<script\\>")]
    [InlineData("[x](http://e)", "\\[x\\](http://e)")]
    [InlineData("line1\r\nline2", "line1 line2")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("", "—")]
    [InlineData(null, "—")]
    public void EscapeCell_NeutralisesMarkdownAndLineBreaks(string? input, string expected)
    {
        Assert.Equal(expected, CardText.EscapeCell(input));
    }

    [Fact]
    public void DeterministicUuid_MatchesTheRfcVersion5Algorithm()
    {
        // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") in CPython.
        var dns = new Guid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        Assert.Equal(new Guid("886313e1-3b8a-5372-9b90-0c9aee199e5d"), DeterministicUuid.Create(dns, "python.org"));
        Assert.Equal(new Guid("5dd43f10-bddf-5730-8d06-7311fc526db3"), DeterministicUuid.Create("abc|eligible"));
    }

    [Fact]
    public void EscapeCell_OnRandomText_NeverLeavesAnUnescapedPipeOrLineBreak()
    {
        var random = new Random(20261127);
        const string alphabet = "ab |\\*_`[]<>#~&!{}\r\n\t-1.";
        for (var i = 0; i < 2000; i++)
        {
            var text = new string([.. Enumerable.Range(0, random.Next(0, 40)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            var cell = CardText.EscapeCell(text);
            Assert.DoesNotContain('\n', cell);
            Assert.DoesNotContain('\r', cell);
            for (var j = 0; j < cell.Length; j++)
            {
                if (cell[j] == '|')
                {
                    var backslashes = 0;
                    for (var k = j - 1; k >= 0 && cell[k] == '\\'; k--)
                    {
                        backslashes++;
                    }

                    Assert.True(backslashes % 2 == 1, $"unescaped pipe in {cell}");
                }
            }
        }
    }
}
