namespace CdsRisk.Dicom;

/// <summary>A PN value (PS3.5 §6.2.1): up to three component groups (alphabetic, ideographic, phonetic) of five '^'-separated components.</summary>
public sealed record DicomPersonName(string Value)
{
    public string Alphabetic => Group(0);

    public string Ideographic => Group(1);

    public string Phonetic => Group(2);

    public string FamilyName => Component(Alphabetic, 0);

    public string GivenName => Component(Alphabetic, 1);

    public string MiddleName => Component(Alphabetic, 2);

    public string NamePrefix => Component(Alphabetic, 3);

    public string NameSuffix => Component(Alphabetic, 4);

    private string Group(int index)
    {
        var groups = Value.Split('=');
        return index < groups.Length ? groups[index] : "";
    }

    private static string Component(string group, int index)
    {
        var parts = group.Split('^');
        return index < parts.Length ? parts[index].Trim() : "";
    }

    public override string ToString() => Value;
}
