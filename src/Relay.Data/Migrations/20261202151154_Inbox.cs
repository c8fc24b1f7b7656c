using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Relay.Data.Migrations
{
    /// <inheritdoc />
    public partial class Inbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "in_inbox",
                table: "deliveries",
                type: "boolean",
                nullable: false,
                defaultValue: true);

            migrationBuilder.CreateIndex(
                name: "ix_deliveries_inbox",
                table: "deliveries",
                columns: new[] { "device_id", "message_id" },
                filter: "in_inbox AND status IN ('retrying', 'sent')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_deliveries_inbox",
                table: "deliveries");

            migrationBuilder.DropColumn(
                name: "in_inbox",
                table: "deliveries");
        }
    }
}
