console.log("cairn cli", process.argv.slice(2));
