package example

import io.sae4j.Sae
import io.sae4j.data.SyntheticData
import java.nio.file.Files

/** Train two SAEs on activations in memory, save one, load it back, encode, and compare. */
fun main() {
    val d = 32
    val rows = 20_000
    val acts = FloatArray(rows * d) // stand-in for a model's activations, (rows, d) row-major
    SyntheticData(SyntheticData.Spec.of(d, 96, 1)).next(acts, rows)

    val dir = Files.createTempDirectory("sae4j-example")
    Sae.train(acts, rows, d).ratio(4.0).steps(400).batchSize(1024)
        .listener { records -> println("step ${records[0].step()}  FVU %.3f".format(records[0].fvu())) }
        .run().use { a ->
            Sae.train(acts, rows, d).ratio(4.0).seed(7).steps(400).batchSize(1024).run().use { b ->
                a.save(dir.resolve("a"))
                Sae.load(dir.resolve("a")).use { loaded ->
                    val f = loaded.encode(acts, 100)
                    println("latents of 100 rows: mean L0 %.2f, row 0 fires %s".format(f.meanL0(), f.indices(0).toList()))
                }
                val c = Sae.compare(acts, rows, a, b)
                println("two seeds: MMCS %.3f, Hungarian mean %.3f".format(c["mmcs_ab"], c["hungarian_mean"]))
            }
        }
    dir.toFile().deleteRecursively() // leave no temporary files behind
}
