using Npgsql;
using Relay.Data;

namespace Relay.Api.Tests;

public sealed class ConnectionStringDefaultsTests
{
    [Fact]
    public void RelayPreparesStatementsAndSkipsSessionResetUnlessTheConnectionStringSaysOtherwise()
    {
        var defaulted = new NpgsqlConnectionStringBuilder(RelayDataExtensions.WithRelayDefaults("Host=db;Database=relay;Username=relay"));
        var explicitValues = new NpgsqlConnectionStringBuilder(RelayDataExtensions.WithRelayDefaults("Host=db;Max Auto Prepare=0;NoResetOnClose=false"));

        Assert.Equal(32, defaulted.MaxAutoPrepare);
        Assert.True(defaulted.NoResetOnClose);
        Assert.Equal(0, explicitValues.MaxAutoPrepare);
        Assert.False(explicitValues.NoResetOnClose);
    }
}
